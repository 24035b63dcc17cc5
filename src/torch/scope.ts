// Deterministic memory: tensors made inside `scope(fn)` are freed when it returns, except what it returns
// or what was passed to `keep`. V8 cannot see native memory well enough to collect it in time on its own.

/** What scopes need of a tensor; Tensor implements it (kept abstract to avoid an import cycle). */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const stack: Set<Disposable>[] = [];
const kept = new WeakSet<Disposable>();

/** Registers a new tensor with the innermost open scope, if any. */
export function track(t: Disposable): void {
  if (stack.length > 0 && !kept.has(t)) stack[stack.length - 1]?.add(t);
}

/** Removes a tensor from every open scope: it then lives until `dispose()` or garbage collection. */
export function keep<T extends Disposable>(t: T): T {
  kept.add(t);
  for (const s of stack) s.delete(t);
  return t;
}

/** Forgets a tensor that was disposed by hand, so the scope does not hold it until it closes. */
export function untrack(t: Disposable): void {
  stack[stack.length - 1]?.delete(t);
}

function collect(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 4) return;
  if (isDisposable(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, depth + 1);
  }
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === "function" && typeof (v as Disposable).isDisposed === "boolean";
}

/**
 * Runs `fn` synchronously and disposes every tensor it created, except the tensors found in its result
 * (directly, or inside arrays, plain objects and Maps) and those passed to `keep`. Returned tensors move
 * to the enclosing scope. `fn` must not be async: an await would let other work's tensors into this scope.
 */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Disposable>();
  stack.push(mine);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error("scope(fn): fn returned a Promise; scopes are synchronous");
  } catch (e) {
    stack.pop();
    for (const t of mine) t.dispose();
    throw e;
  }
  stack.pop();
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  for (const t of mine) {
    if (survivors.has(t)) stack[stack.length - 1]?.add(t);
    else t.dispose();
  }
  return result;
}

/** How deep the scope stack is (0 outside any scope); for tests and diagnostics. */
export function scopeDepth(): number {
  return stack.length;
}
