/** What a saved checkpoint is, as listed (the store keeps its contents beside). */

/**
 * A saved checkpoint of a worker.
 *
 * @category Jobs and context
 */
export interface CheckpointInfo {
  /** Its number in the store (increasing). */
  readonly checkpointId: number;
  readonly workerId: string;
  readonly flowId: string;
  /** ISO time it was taken. */
  readonly createdAt: string;
  /** Format version of its contents. */
  readonly version: number;
  /** Items saved (queued in slots, parked for room, waiting to retry). */
  readonly items: number;
  /** Unfinished jobs saved. */
  readonly jobs: number;
}
