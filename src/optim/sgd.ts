// SGD with momentum, Nesterov and L2 weight decay, step for step the algorithm of torch.optim.SGD.
import { keep, noGrad, type Tensor } from "../torch/index.js";

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD {
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** Momentum buffers by parameter, created on the first step as PyTorch does. */
  readonly #buffers = new Map<Tensor, Tensor>();

  constructor(
    readonly params: Tensor[],
    options: SGDOptions,
  ) {
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.lr < 0) throw new RangeError(`SGD: invalid learning rate ${this.lr}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError("SGD: Nesterov momentum requires a momentum and zero dampening");
    }
  }

  step(): void {
    noGrad(() => {
      for (const p of this.params) {
        const g = p.grad;
        if (!g) continue;
        this.#update(p, g);
      }
    });
  }

  #update(p: Tensor, grad: Tensor): void {
    const decayed = this.weightDecay !== 0 ? grad.add(p, this.weightDecay) : grad;
    let direction = decayed;
    if (this.momentum !== 0) {
      let buf = this.#buffers.get(p);
      if (!buf) {
        buf = keep(decayed.clone());
        this.#buffers.set(p, buf);
      } else {
        buf.mul_(this.momentum).add_(decayed, 1 - this.dampening);
      }
      direction = this.nesterov ? decayed.add(buf, this.momentum) : buf;
    }
    p.add_(direction, -this.lr);
    for (const t of new Set([grad, decayed, direction])) if (t !== this.#buffers.get(p)) t.dispose();
  }

  /** Clears gradients (set to none, PyTorch's default since 2.0: cheaper than zero-filling). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = undefined;
  }

  /** Momentum buffers by parameter index, for checkpoints. */
  stateTensors(): Map<number, Tensor> {
    const out = new Map<number, Tensor>();
    this.params.forEach((p, i) => {
      const b = this.#buffers.get(p);
      if (b) out.set(i, b);
    });
    return out;
  }

  loadStateTensors(state: ReadonlyMap<number, Tensor>): void {
    for (const [i, t] of state) {
      const p = this.params[i];
      if (!p) throw new RangeError(`SGD state names parameter ${i}, but the optimiser has ${this.params.length}`);
      if (t.shape.join() !== p.shape.join()) throw new RangeError(`SGD state ${i}: shape [${t.shape}] vs [${p.shape}]`);
      this.#buffers.get(p)?.dispose();
      this.#buffers.set(p, keep(t.clone()));
    }
  }

  dispose(): void {
    for (const b of this.#buffers.values()) b.dispose();
    this.#buffers.clear();
  }
}
