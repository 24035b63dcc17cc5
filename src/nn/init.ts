// PyTorch's default initialisations, so that models start from the same distributions as torch.nn.
import { rand, type Tensor } from "../torch/index.js";

/** U(-bound, bound) of the given shape. */
export function uniform(shape: readonly number[], bound: number): Tensor {
  return rand(shape)
    .mul_(2 * bound)
    .sub_(bound);
}

/**
 * torch.nn.Conv2d/Linear default: kaiming_uniform_(a=sqrt(5)) for weights, which is U(+-1/sqrt(fan_in)),
 * and the same bound for biases.
 */
export function defaultBound(fanIn: number): number {
  return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
}

/** kaiming_normal_(mode='fan_out', nonlinearity='relu'), torchvision's init for ResNet/MobileNet convs. */
export function kaimingNormalFanOut(shape: readonly number[]): Tensor {
  const fanOut = (shape[0] ?? 1) * shape.slice(2).reduce((a, b) => a * b, 1);
  return rand(shape).normal_(0, Math.sqrt(2 / fanOut));
}
