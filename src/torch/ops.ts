// The op tables: ops whose native function and Tensor method have one of a few fixed shapes are named once here,
// and both the NativeTorch type (native.ts) and the Tensor methods (tensor.ts) are made from these lists. The
// addon's side of each table is the macro list of the same name in native/*.cc; test/torch/ops.test.ts checks
// that the two agree.
// The types take the handle and tensor types as parameters, so that this file imports neither native.ts nor
// tensor.ts (which both import it).

/** (a) -> a new tensor, e.g. t.exp(). */
export const UNARY_OPS = [
  "neg",
  "abs",
  "sign",
  "sqrt",
  "rsqrt",
  "exp",
  "log",
  "floor",
  "ceil",
  "round",
  "reciprocal",
  "logicalNot",
  "relu",
  "sigmoid",
  "tanh",
] as const;
/** (a, b: tensor or number) -> a new tensor, e.g. t.mul(2). */
export const OPERAND_OPS = ["mul", "div", "pow", "remainder", "eq", "ne", "lt", "gt"] as const;
/** (a, b: tensor) -> a new tensor, e.g. t.matmul(w). */
export const TENSOR_PAIR_OPS = ["matmul", "maximum", "minimum"] as const;
/** (a) -> a, changed in place, e.g. t.zero_(). */
export const IN_PLACE_OPS = ["sign_", "relu_", "zero_"] as const;
/** (a, b: tensor or number) -> a, changed in place, e.g. t.mul_(0.9). */
export const OPERAND_IN_PLACE_OPS = ["mul_", "div_"] as const;

type Names<T extends readonly string[]> = T[number];

/** The native functions of the tables, over handles H. */
export type NativeOps<H> = { [K in Names<typeof UNARY_OPS>]: (a: H) => H } & {
  [K in Names<typeof OPERAND_OPS>]: (a: H, b: H | number) => H;
} & { [K in Names<typeof TENSOR_PAIR_OPS>]: (a: H, b: H) => H } & {
  [K in Names<typeof IN_PLACE_OPS>]: (a: H) => H;
} & { [K in Names<typeof OPERAND_IN_PLACE_OPS>]: (a: H, b: H | number) => H };

/** The Tensor methods of the tables, for tensors Tensor. */
export type TensorOps<Tensor> = { [K in Names<typeof UNARY_OPS>]: () => Tensor } & {
  [K in Names<typeof OPERAND_OPS>]: (o: Tensor | number) => Tensor;
} & { [K in Names<typeof TENSOR_PAIR_OPS>]: (o: Tensor) => Tensor } & {
  [K in Names<typeof IN_PLACE_OPS>]: () => Tensor;
} & { [K in Names<typeof OPERAND_IN_PLACE_OPS>]: (o: Tensor | number) => Tensor };
