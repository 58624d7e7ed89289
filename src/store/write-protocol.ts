/** What the agent's thread and the writer thread (write-worker.ts) say to each other. */
import type { EncodedOps } from './op-codec.js';

export interface WriteWorkerData {
  path: string;
  readonly: boolean;
  /**
   * Two Int32s for waits that cannot use the event loop: [0] the commit sequence (ops finished,
   * mod 2^32), [1] 1 while the writer waits on a lock held by another connection.
   */
  shared: SharedArrayBuffer;
  maxTransactionOps: number;
  checkpointIntervalMs: number;
  busyTimeoutMs: number;
}

export type MainMessage =
  | { t: 'ops'; data: EncodedOps }
  /** Write what is queued (waiting out locks until `timeoutMs`), close the database, exit. */
  | { t: 'stop'; timeoutMs: number }
  /** Close the connection now; later writes fail and are counted (tests of a closed database). */
  | { t: 'closeDb' };

export type WorkerMessage =
  /** Ops up to `seq` are finished: `written` stored, `failed` refused by the database in this step. */
  | { t: 'done'; seq: number; written: number; failed: number; error?: string }
  /** The write lock is held by another connection; the rows stay queued and are retried. */
  | { t: 'busy'; error: string }
  | { t: 'stopped' };
