// Training checkpoints: one safetensors file holding the model (PyTorch names), the optimiser's momentum
// buffers, any further state of the run (`extra.*` tensors, e.g. error-minimising noise) and its progress as
// metadata, replaced atomically after every epoch or round. A single file means a crash can never pair weights
// of one epoch with the progress record of another. The metadata carries the sha256 of the tensor bytes, so a
// flipped bit on disk is refused instead of silently changing the resumed model.
import { existsSync, readFileSync } from "node:fs";
import type { Module } from "../nn/index.js";
import type { SGD } from "../optim/index.js";
import { dataSha256, decodeSafetensors, encodeSafetensors, type Tensor, type TensorDict } from "../torch/index.js";
import { writeFileAtomic } from "../util/atomic.js";

const FORMAT = "advpoison-checkpoint/1";
const MOMENTUM = "optimizer.momentum.";
const EXTRA = "extra.";

export interface CheckpointState<Info> {
  epochsDone: number;
  info: Info;
}

/** The checkpoint file of `tensors` and `metadata`, with the checksum of its tensor bytes added. */
export function encodeCheckpoint(tensors: TensorDict, metadata: Record<string, string>): Uint8Array {
  return encodeSafetensors(tensors, metadata, { dataSha256Key: "data_sha256" });
}

export function saveCheckpoint<Info>(
  path: string,
  model: Module,
  opt: SGD,
  state: CheckpointState<Info>,
  extra: ReadonlyMap<string, Tensor> = new Map(),
): void {
  const tensors = new Map<string, Tensor>(model.stateDict());
  for (const [i, t] of opt.stateTensors()) tensors.set(`${MOMENTUM}${i}`, t);
  for (const [k, t] of extra) tensors.set(`${EXTRA}${k}`, t);
  const metadata = { format: FORMAT, epochs_done: String(state.epochsDone), info: JSON.stringify(state.info) };
  writeFileAtomic(path, encodeCheckpoint(tensors, metadata));
}

/**
 * Restores model and optimiser from `path` and returns the saved progress; undefined if there is no file.
 * `accept` sees the saved progress and the extra tensors first and may throw to refuse the checkpoint, leaving
 * model and optimiser as they were; it must copy what it keeps of the extras, which are disposed on return.
 */
export function loadCheckpoint<Info>(
  path: string,
  model: Module,
  opt: SGD,
  accept?: (state: CheckpointState<Info>, extra: ReadonlyMap<string, Tensor>) => void,
): CheckpointState<Info> | undefined {
  if (!existsSync(path)) return undefined;
  const bytes = new Uint8Array(readFileSync(path));
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  try {
    if (metadata.format !== FORMAT)
      throw new Error(`${path}: not an advpoison checkpoint (format '${metadata.format}')`);
    if (metadata.data_sha256 === undefined)
      throw new Error(`${path}: checkpoint has no checksum (an older advpoison wrote it); remove it to start over`);
    if (dataSha256(bytes) !== metadata.data_sha256)
      throw new Error(
        `${path}: checkpoint is damaged (its tensors do not match their checksum); remove it to start over`,
      );
    const state = { epochsDone: Number(metadata.epochs_done), info: JSON.parse(metadata.info ?? "{}") as Info };
    const extra = new Map<string, Tensor>();
    for (const [k, t] of tensors) if (k.startsWith(EXTRA)) extra.set(k.slice(EXTRA.length), t);
    accept?.(state, extra);
    const modelState = new Map([...tensors].filter(([k]) => !k.startsWith(MOMENTUM) && !k.startsWith(EXTRA)));
    model.loadStateDict(modelState);
    const momentum = new Map<number, Tensor>();
    for (const [k, t] of tensors) if (k.startsWith(MOMENTUM)) momentum.set(Number(k.slice(MOMENTUM.length)), t);
    opt.loadStateTensors(momentum);
    return state;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
