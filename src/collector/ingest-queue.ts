/**
 * The collector's one path into SQLite: a bounded queue of write ops, applied through one
 * SqliteWriter in small transactions, one batch per event-loop turn, so a burst of exports
 * never holds the HTTP loop for long. When the queue cannot take a request's ops the request is
 * refused whole (the receiver answers 503 + Retry-After and the sender retries), never half
 * written.
 */
import { warnOnce } from '../log.js';
import type { SqliteDatabase } from '../store/database.js';
import type { WriteOp } from '../spans/rows.js';
import { BusyBackoff } from '../store/busy-backoff.js';
import { isBusy, SqliteWriter } from '../store/writer.js';

export interface IngestQueueOptions {
  /** Most ops held; a request whose ops do not fit is refused. Default 100 000. */
  maxQueueSize?: number;
  /** Ops per transaction. Default 512. */
  maxBatchSize?: number;
}

export interface IngestQueueStats {
  /** Ops written. */
  written: number;
  /** Ops the database refused (counted, logged). */
  failed: number;
  /** Requests refused because the queue was full. */
  refused: number;
  queued: number;
  capacity: number;
  lastError?: string;
}

export class IngestQueue {
  private readonly writer: SqliteWriter;
  private readonly maxQueueSize: number;
  private readonly maxBatchSize: number;
  private queue: WriteOp[] = [];
  /** Index of the first unwritten op: avoids shifting a large array after every batch. */
  private head = 0;
  private scheduled = false;
  private readonly backoff = new BusyBackoff();
  private closed = false;
  private written = 0;
  private failed = 0;
  private refused = 0;
  private lastError: string | undefined;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(readonly db: SqliteDatabase, options: IngestQueueOptions = {}) {
    this.writer = new SqliteWriter(db);
    this.maxQueueSize = options.maxQueueSize ?? 100_000;
    this.maxBatchSize = options.maxBatchSize ?? 512;
  }

  get depth(): number {
    return this.queue.length - this.head;
  }

  /** True when `n` more ops fit. */
  hasRoom(n: number): boolean {
    return !this.closed && this.depth + n <= this.maxQueueSize;
  }

  /** Queues a request's ops, all or none. False (and counted) when they do not fit. */
  push(ops: readonly WriteOp[]): boolean {
    if (ops.length === 0) return true;
    if (!this.hasRoom(ops.length)) {
      this.refused++;
      return false;
    }
    for (const op of ops) this.queue.push(op);
    this.schedule();
    return true;
  }

  /** Resolves once everything queued so far is written (or failed). */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Writes everything queued now, synchronously (shutdown). */
  flushSync(): void {
    try {
      this.db.pragma('busy_timeout = 5000');
    } catch {
      /* closed */
    }
    while (this.depth > 0 && !this.closed) {
      if (!this.writeBatch(true)) break;
    }
    this.notifyIdle();
  }

  close(): void {
    this.flushSync();
    this.closed = true;
    if (this.depth > 0) {
      this.failed += this.depth;
      this.queue = [];
      this.head = 0;
    }
    this.notifyIdle();
  }

  stats(): IngestQueueStats {
    return { written: this.written, failed: this.failed, refused: this.refused, queued: this.depth, capacity: this.maxQueueSize, lastError: this.lastError };
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drainOne();
    });
  }

  private drainOne(): void {
    if (this.closed) return;
    const progressed = this.writeBatch(false);
    if (this.depth > 0) {
      if (progressed) this.schedule();
      // Another writer holds the lock: the ops stay queued (new requests get 503 once it is
      // full) and are tried again after a growing wait, however long the lock lasts.
      else setTimeout(() => this.schedule(), this.backoff.busy()).unref();
    } else {
      this.notifyIdle();
    }
  }

  /** Writes one batch. False when the database was busy and the batch stays queued. */
  private writeBatch(force: boolean): boolean {
    const end = Math.min(this.head + this.maxBatchSize, this.queue.length);
    const batch = this.queue.slice(this.head, end);
    const result = this.writer.apply(batch);
    if (result.error && isBusy(result.error) && !force) {
      this.lastError = result.error.message;
      return false;
    }
    this.backoff.succeeded();
    this.head = end;
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 65_536) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.written += result.applied;
    if (result.failed > 0) {
      this.failed += result.failed;
      this.lastError = result.error?.message;
      warnOnce(`collector-write:${result.error?.message ?? ''}`, `collector: ${result.failed} write(s) failed: ${result.error?.message ?? 'unknown error'}`);
    }
    return true;
  }

  private notifyIdle(): void {
    if (this.depth > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
