export { assembleRelease, type ReleaseJobResult } from "./assemble.js";
export { connectOnce, connectRetrying, parseRedisUrl, type RedisTarget } from "./connection.js";
export { cancelRun, retryRun } from "./control.js";
export { addFlow, type EnqueueRequest, enqueueCraft } from "./enqueue.js";
export {
  CHUNK_JOB,
  type ChunkJobData,
  type ChunkJobResult,
  chunkJobId,
  QUEUE_NAME,
  RELEASE_JOB,
  RETRIES,
  type ReleaseJobData,
  releaseJobId,
} from "./jobs.js";
export { checkRunName, chunkDir, crafterFile, type RunRecord, recordDigest } from "./run-record.js";
export { RunStore, readRunFile } from "./run-store.js";
export {
  allRunStatuses,
  formatStatus,
  type RunState,
  type RunStatus,
  runStatus,
  type UnreadableRun,
} from "./status.js";
export { type RunningWorker, startWorker, type WorkerOptions } from "./worker.js";
