// Layers the model zoo needs beyond layers.ts (not yet exported from src/nn/index.ts).
import type { Tensor } from "../torch/index.js";
import { Module } from "./module.js";

/**
 * torch.nn.Sequential(OrderedDict(...)): runs its children in order under the given names, so that state-dict
 * names read `conv0.weight` rather than `0.weight`.
 */
export class NamedSequential extends Module {
  readonly layers: Module[];
  constructor(entries: readonly (readonly [string, Module])[]) {
    super();
    // A repeated name would replace the earlier child in the state dict while both still ran in forward().
    const names = new Set<string>();
    for (const [name] of entries) {
      if (names.has(name)) throw new Error(`NamedSequential: duplicate name '${name}'`);
      names.add(name);
    }
    this.layers = entries.map(([name, m]) => this.child(name, m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}
