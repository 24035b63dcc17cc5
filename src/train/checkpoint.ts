// Training checkpoints: one safetensors file holding the model (PyTorch names), the optimiser's momentum
// buffers, any further state of the run (`extra.*` tensors, e.g. error-minimising noise) and its progress as
// metadata, replaced atomically after every epoch or round. A single file means a crash can never pair weights
// of one epoch with the progress record of another.
import { existsSync, readFileSync } from "node:fs";
import type { Module } from "../nn/index.js";
import type { SGD } from "../optim/index.js";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../torch/index.js";
import { writeFileAtomic } from "../util/atomic.js";

const FORMAT = "advpoison-checkpoint/1";
const MOMENTUM = "optimizer.momentum.";
const EXTRA = "extra.";

export interface CheckpointState<Info> {
  epochsDone: number;
  info: Info;
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
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
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
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  try {
    if (metadata.format !== FORMAT)
      throw new Error(`${path}: not an advpoison checkpoint (format '${metadata.format}')`);
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
