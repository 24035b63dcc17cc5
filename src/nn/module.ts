// Module: parameters, buffers and submodules under PyTorch's dotted state-dict names.
import { type DType, isFloating, keep, type MemoryFormat, noGrad, type Tensor } from "../torch/index.js";

export type StateDict = Map<string, Tensor>;

/** What `Module.to` changes, as PyTorch's `module.to(device, memory_format=...)`. */
export interface ModuleToOptions {
  device?: string;
  /** Applied to floating-point parameters and buffers only, as in PyTorch. */
  dtype?: DType;
  /** Applied to 4-D parameters and buffers only (conv weights), as in PyTorch. */
  memoryFormat?: Exclude<MemoryFormat, "preserve_format">;
}

/** `t` converted as `o` asks, or undefined when it already is. */
function converted(t: Tensor, o: ModuleToOptions): Tensor | undefined {
  const device = o.device !== undefined && t.device !== o.device ? o.device : undefined;
  // Always converted (an alias when nothing changes): isContiguous cannot tell a one-channel tensor's layouts apart.
  const format = o.memoryFormat !== undefined && t.ndim === 4 ? o.memoryFormat : undefined;
  const dtype = o.dtype !== undefined && isFloating(t.dtype) && t.dtype !== o.dtype ? o.dtype : undefined;
  if (device === undefined && format === undefined && dtype === undefined) return undefined;
  return t.to({ device, memoryFormat: format, dtype });
}

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor | undefined>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a trainable tensor (requires grad, kept out of scopes); undefined registers an absent one (bias=False). */
  protected param(name: string, t: Tensor | undefined): Tensor | undefined {
    if (t) keep(t.requiresGrad_(true));
    this.#params.set(name, t);
    return t;
  }

  /** Registers a non-trainable tensor that belongs in the state dict (running statistics). */
  protected buffer(name: string, t: Tensor): Tensor {
    this.#buffers.set(name, keep(t));
    return t;
  }

  /** A registered parameter (looked up each time, so `to(device)` can swap tensors). */
  protected getParam(name: string): Tensor | undefined {
    return this.#params.get(name);
  }

  protected getBuffer(name: string): Tensor {
    const t = this.#buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no buffer '${name}'`);
    return t;
  }

  /** Frees and forgets this module's own parameters and buffers (a batch norm folded into its conv has none). */
  protected releaseOwnState(): void {
    for (const t of this.#params.values()) t?.dispose();
    for (const t of this.#buffers.values()) t.dispose();
    this.#params.clear();
    this.#buffers.clear();
  }

  /** Registers a submodule under `name` (its tensors appear as `name.xxx`). */
  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  children(): [string, Module][] {
    return [...this.#children];
  }

  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.#children) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  *namedParameters(prefix = ""): Generator<[string, Tensor]> {
    for (const [name, t] of this.#params) if (t) yield [prefix + name, t];
    for (const [name, m] of this.#children) yield* m.namedParameters(`${prefix}${name}.`);
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }

  *namedBuffers(prefix = ""): Generator<[string, Tensor]> {
    for (const [name, t] of this.#buffers) yield [prefix + name, t];
    for (const [name, m] of this.#children) yield* m.namedBuffers(`${prefix}${name}.`);
  }

  /** Parameters and buffers by PyTorch name, in registration order (the tensors themselves, not copies). */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    this.#collectState("", out);
    return out;
  }

  #collectState(prefix: string, out: StateDict): void {
    for (const [name, t] of this.#params) if (t) out.set(prefix + name, t);
    for (const [name, t] of this.#buffers) out.set(prefix + name, t);
    for (const [name, m] of this.#children) m.#collectState(`${prefix}${name}.`, out);
  }

  /**
   * Names of this module's own buffers that a state dict may lack, and the value each then takes (as
   * PyTorch's `_load_from_state_dict` hooks do): a batch norm's `num_batches_tracked`.
   */
  protected defaultsOnLoad(): ReadonlyMap<string, number> {
    return new Map();
  }

  /**
   * Copies `state` into this module's tensors. Strict: every name must match both ways, with equal shapes;
   * the error lists every missing, unexpected and mismatched name. Dtypes are converted as PyTorch does.
   * A buffer that its module gives a default on load (defaultsOnLoad) may be absent: it is set to that default.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor>, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const defaults = new Map<string, number>();
    for (const [path, m] of this.namedModules()) {
      for (const [name, value] of m.defaultsOnLoad()) defaults.set(path ? `${path}.${name}` : name, value);
    }
    const missing = [...own.keys()].filter((k) => !state.has(k) && !defaults.has(k));
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const src = state.get(k);
      if (src && src.shape.join(",") !== t.shape.join(",")) {
        mismatched.push(`${k}: checkpoint [${src.shape}] vs model [${t.shape}]`);
      }
    }
    const problems = [
      ...(strict && missing.length ? [`missing keys: ${missing.join(", ")}`] : []),
      ...(strict && unexpected.length ? [`unexpected keys: ${unexpected.join(", ")}`] : []),
      ...(mismatched.length ? [`shape mismatches: ${mismatched.join("; ")}`] : []),
    ];
    if (problems.length) throw new Error(`loadStateDict: ${problems.join("\n  ")}`);
    noGrad(() => {
      for (const [k, t] of own) {
        const src = state.get(k);
        if (src) t.copy_(src);
        else if (defaults.has(k)) t.fill_(defaults.get(k)!);
      }
    });
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Stops (or restarts) gradient recording for every parameter: crafting models are frozen. */
  requiresGrad_(on: boolean): this {
    for (const p of this.parameters()) p.requiresGrad_(on);
    return this;
  }

  /** Moves every parameter and buffer to a device (a string) or memory format; the old tensors are freed. */
  to(target: string | ModuleToOptions): this {
    const o = typeof target === "string" ? { device: target } : target;
    noGrad(() => {
      for (const [, m] of this.namedModules()) m.#convertOwn(o);
    });
    return this;
  }

  #convertOwn(o: ModuleToOptions): void {
    for (const [name, t] of this.#params) {
      const next = t && converted(t, o);
      if (!t || !next) continue;
      this.#params.set(name, keep(next.detach().requiresGrad_(t.requiresGrad)));
      next.dispose();
      t.dispose();
    }
    for (const [name, t] of this.#buffers) {
      const next = converted(t, o);
      if (!next) continue;
      this.#buffers.set(name, keep(next));
      t.dispose();
    }
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = undefined;
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, t] of this.stateDict()) t.dispose();
  }
}
