// The crafting model as attacks use it: a frozen inference copy (eval mode, no parameter gradients) whose batch
// norms are folded into their convs, optionally laid out channels-last, and run under bf16 autocast (conv and
// linear tensors cast to bf16 once), returning fp32 logits so that losses, input gradients, projection and
// quantisation stay fp32. In fp32 without folding the copy computes bit for bit what the original does.
import { Conv2d, firstNonFinite, foldBatchNorms, Linear, Module } from "../nn/index.js";
import { forkRng, inPrecision, type Precision, type Tensor } from "../torch/index.js";
import { architectureOf, createModel } from "./registry.js";

export interface CraftingOptions {
  precision: Precision;
  /** Where the copy lives and runs (undefined: the CPU). */
  device?: string;
  /** Weights and inputs channels-last (NHWC), which oneDNN's bf16 convolutions prefer; default: with bf16. */
  channelsLast?: boolean;
  /** Fold each batch norm into its conv; default: with bf16 (in fp32 folding changes the last bits). */
  foldBatchNorm?: boolean;
}

/** A frozen copy of a model for attacks; training it is refused, and the original is left untouched. */
export class CraftingModel extends Module {
  readonly model: Module;
  /** How many batch norms were folded into their convs. */
  readonly folded: number;

  constructor(
    original: Module,
    readonly precision: Precision,
    device: string | undefined,
    readonly channelsLast: boolean,
    fold: boolean,
  ) {
    super();
    const arch = architectureOf(original);
    if (!arch)
      throw new Error("prepareForCrafting: the model was not made by createModel/loadModel, so it cannot be copied");
    // The copy's random initialisation is overwritten at once: it must not move the generator crafting draws from.
    const copy = forkRng(() => createModel(arch.name, arch.config));
    copy.loadStateDict(original.stateDict());
    copy.eval().requiresGrad_(false);
    this.folded = fold ? foldBatchNorms(copy) : 0;
    copy.to({ device, memoryFormat: channelsLast ? "channels_last" : undefined });
    // Autocast would cast the frozen conv and linear weights to bf16 again in every forward pass (it caches casts
    // only of trainable leaves); cast once instead. Batch norms left unfolded keep fp32 statistics.
    if (precision === "bf16") {
      for (const [, m] of copy.namedModules())
        if (m instanceof Conv2d || m instanceof Linear) m.to({ dtype: "bfloat16" });
    }
    this.model = this.child("model", copy);
    this.training = false;
  }

  override train(on = true): this {
    if (on) throw new Error("a crafting model is frozen for inference; train the original model instead");
    return super.train(false);
  }

  forward(x: Tensor): Tensor {
    const input = this.channelsLast && x.ndim === 4 ? x.contiguous("channels_last") : x;
    // Autocast follows the input's device, so a copy moved after it was made still computes in its precision.
    return inPrecision(this.precision, x.device, () => this.model.forward(input));
  }
}

/**
 * The frozen inference copy of `model` that an attack should run (see CraftingModel). A model with non-finite
 * weights (a training run that diverged) is refused: an attack on it would write noise and call it a poison.
 */
export function prepareForCrafting(model: Module, options: CraftingOptions): CraftingModel {
  const bad = firstNonFinite(model);
  if (bad !== undefined)
    throw new Error(`the crafting model's ${bad} holds NaN or infinite values (its training diverged); retrain it`);
  const low = options.precision === "bf16";
  return new CraftingModel(
    model,
    options.precision,
    options.device,
    options.channelsLast ?? low,
    options.foldBatchNorm ?? low,
  );
}
