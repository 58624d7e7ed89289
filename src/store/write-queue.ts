/**
 * The one write pipeline into SQLite, used by the in-process SqliteSpanProcessor and by the
 * collector. The calling thread only encodes ops and hands them over in batches; the writing
 * connection, its transactions, busy retries and WAL checkpoints live in a worker thread
 * (write-worker.ts), so a commit or a checkpoint never holds up the agent's event loop.
 *
 * Bounds and back-pressure: at most `maxQueueSize` ops are held (waiting on this thread or being
 * written). A push that does not fit waits on the calling thread for the writer to make room, as
 * long as the writer makes progress; when it waits on another connection's lock or makes none for
 * `blockWhenFullMs` (default 0: no waiting), the push is refused whole, its ops counted as
 * dropped, and no push waits for a second. Ops gather here for at most `flushIntervalMs` (100 ms)
 * or `maxBatchSize` ops, whichever comes first (a flush or an awaited commit hands over at once),
 * and the writer commits what it receives at once: that is how much a `kill -9` can lose. A process that exits without shutdown (process.exit, the loop running dry) hands over
 * and waits up to 1 s for the writer in its `exit` handler.
 *
 * Every op gets a sequence number; `committed(seq)` / `enqueue(ops)` resolve once it is finished
 * (committed, or refused by the database and counted), e.g. to acknowledge a request only when its
 * rows are stored.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { warnOnce } from '../log.js';
import type { WriteOp } from '../spans/rows.js';
import type { Attributes } from '../spans/span-data.js';
import { appendEnded, encodeOp, HandOverSender, type EncodedOps } from './op-codec.js';
import type { MainMessage, WorkerMessage, WriteWorkerData } from './write-protocol.js';

export interface WriteQueueOptions {
  /** The database file; it must exist and be migrated (openDatabase does both). */
  path: string;
  /** Open the writer's connection read-only (every write then fails and is counted). */
  readonly?: boolean;
  /** Most ops held, waiting here or being written. Default 20 000. */
  maxQueueSize?: number;
  /** Ops handed to the writer in one message; a push that reaches it hands over at once. Default 512. */
  maxBatchSize?: number;
  /** Longest an op waits on the calling thread before it is handed over. Default 100 ms. */
  flushIntervalMs?: number;
  /** Longest a push waits for room when the queue is full, before it is refused. Default 0. */
  blockWhenFullMs?: number;
  /** Most ops per transaction in the writer. Default 2048. */
  maxTransactionOps?: number;
  /** WAL checkpoint interval of the writer. Default 1000 ms. */
  checkpointIntervalMs?: number;
  /** Called once per write error reported by the writer (already counted). */
  onError?: (error: Error) => void;
}

export interface WriteQueueStats {
  /** Ops stored. */
  written: number;
  /** Ops the database refused (a bad row, a closed or read-only database). */
  failed: number;
  /** Ops refused because the queue was full or the writer was gone. */
  dropped: number;
  /** Ops waiting here or being written. */
  queued: number;
  capacity: number;
  lastError?: string;
}

interface Waiter {
  seq: number;
  /** Also resolve when the writer reports a lock held by someone else (flush must not wait on it). */
  orBusy: boolean;
  resolve: () => void;
}

const EXIT_FLUSH_MS = 1000;
const live = new Set<WriteQueue>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // The writer thread still runs while `exit` listeners do: hand over and wait for it, bounded.
  process.on('exit', () => {
    for (const q of live) q.flushSync(EXIT_FLUSH_MS);
  });
}

/** The compiled worker script; from the TypeScript sources (vitest), the build's copy. */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const script = here.endsWith('.ts')
    ? join(dirname(here), '..', '..', 'dist', 'src', 'store', 'write-worker.js')
    : join(dirname(here), 'write-worker.js');
  if (!existsSync(script)) throw new Error(`the SQLite writer script ${script} is missing; run \`npm run build\``);
  return script;
}

export class WriteQueue {
  readonly path: string;
  private worker: Worker | undefined;
  private readonly shared: Int32Array;
  private readonly maxQueueSize: number;
  private readonly maxBatchSize: number;
  private readonly flushIntervalMs: number;
  private readonly blockWhenFullMs: number;
  private readonly onError: ((error: Error) => void) | undefined;
  private pending: EncodedOps = [];
  /** Resources and attribute key lists this queue's writer has been sent (op-codec.ts). */
  private readonly handOverSender = new HandOverSender();
  private pendingOps = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the oldest op waiting here was pushed (performance.now()). */
  private pendingSince = 0;
  /** Ops handed to the writer since the start (the last handed-over op's sequence number). */
  private sent = 0;
  /** Finished ops as last reported by message. */
  private finished = 0;
  private waiters: Waiter[] = [];
  private refed = false;
  private noBlockUntil = 0;
  private closing: Promise<void> | undefined;
  private written = 0;
  private failed = 0;
  private dropped = 0;
  private lastError: string | undefined;

  constructor(options: WriteQueueOptions) {
    this.path = options.path;
    this.maxQueueSize = options.maxQueueSize ?? 20_000;
    this.maxBatchSize = options.maxBatchSize ?? 512;
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.blockWhenFullMs = options.blockWhenFullMs ?? 0;
    this.onError = options.onError;
    this.shared = new Int32Array(new SharedArrayBuffer(8));
    const workerData: WriteWorkerData = {
      path: options.path,
      readonly: options.readonly ?? false,
      shared: this.shared.buffer as SharedArrayBuffer,
      maxTransactionOps: options.maxTransactionOps ?? 2048,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 1000,
      busyTimeoutMs: 100,
    };
    const worker = new Worker(workerScript(), { workerData });
    worker.on('message', (msg: WorkerMessage) => this.onMessage(msg));
    worker.on('error', (err) => this.writerGone(err));
    worker.on('exit', () => this.writerGone(undefined));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    this.worker = worker;
    live.add(this);
    installExitHook();
  }

  /** Ops waiting here or being written. */
  get depth(): number {
    return this.pendingOps + this.inFlight();
  }

  /** The sequence number of the last op pushed (see committed()). */
  get seq(): number {
    return this.sent + this.pendingOps;
  }

  /** True when `n` more ops fit now. */
  hasRoom(n: number): boolean {
    return this.worker !== undefined && this.closing === undefined && this.depth + n <= this.maxQueueSize;
  }

  /**
   * Queues ops, all or none, in order. False when they do not fit (after waiting up to
   * `blockWhenFullMs`) or the writer is gone: the ops are then counted as dropped.
   */
  push(ops: readonly WriteOp[]): boolean {
    const n = ops.length;
    if (n === 0) return true;
    if (!this.admit(n)) return false;
    for (let i = 0; i < n; i++) encodeOp(ops[i]!, this.pending);
    this.added(n);
    return true;
  }

  /**
   * Queues an ended span (encoded by ended-span-transfer.ts) as one op, mapped to its rows by the
   * writer thread: the agent's thread pays for the hand-over only. False when it does not fit
   * (counted as dropped).
   */
  pushEnded(encoded: string, resource: Readonly<Attributes>, attributes: Readonly<Attributes>): boolean {
    if (!this.admit(1)) return false;
    appendEnded(encoded, resource, attributes, this.pending, this.handOverSender);
    this.added(1);
    return true;
  }

  private admit(n: number): boolean {
    if (this.hasRoom(n) || this.waitForRoom(n)) return true;
    this.dropped += n;
    if (this.worker !== undefined && this.closing === undefined) {
      this.lastError ??= 'queue full';
      warnOnce(`queue-full:${this.path}`, `the write queue for ${this.path} is full (${this.maxQueueSize} operations); new rows are dropped and counted until it drains (is another process holding the database lock?).`);
    }
    return false;
  }

  private added(n: number): void {
    if (this.pendingOps === 0) this.pendingSince = performance.now();
    this.pendingOps += n;
    // Ops go over in batches, never one call at a time: waking a sleeping writer thread costs the
    // calling thread 50-400 µs (measured), which a streamed model call of a few ms would feel.
    // The age check covers a thread too busy to run its timers (what a kill -9 may lose).
    if (this.pendingOps >= this.maxBatchSize || performance.now() - this.pendingSince >= this.flushIntervalMs) this.handOver();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.handOver();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Queues ops and resolves once they are finished (committed, or refused and counted). Rejects when they do not fit. */
  enqueue(ops: readonly WriteOp[]): Promise<void> {
    if (!this.push(ops)) return Promise.reject(new Error(this.closing ? 'the write queue is closed' : 'the write queue is full; retry later'));
    return this.committed(this.seq);
  }

  /** Resolves once every op up to sequence number `seq` is finished. */
  committed(seq: number): Promise<void> {
    if (seq > this.sent) this.handOver();
    return this.waitFor(seq, false);
  }

  /**
   * Hands everything over and resolves once it is written, or as soon as the writer meets a lock
   * held by another connection (the rows then stay queued and are retried).
   */
  flush(): Promise<void> {
    this.handOver();
    return this.waitFor(this.sent, true);
  }

  /**
   * Hands everything over and blocks the calling thread until it is written or `timeoutMs`
   * passed (exit paths, where the event loop will not run again). True when all was written.
   */
  flushSync(timeoutMs: number): boolean {
    this.handOver();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const inFlight = this.inFlight();
      if (inFlight <= 0 || this.worker === undefined) return inFlight <= 0;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.shared, 0, Atomics.load(this.shared, 0), Math.min(left, 50));
    }
  }

  /** Writes what is queued (waiting out other writers' locks for up to `timeoutMs`), then stops the writer. */
  close(timeoutMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      live.delete(this);
      this.handOver();
      const worker = this.worker;
      if (worker === undefined) return;
      worker.ref();
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => void worker.terminate().then(() => resolve()), timeoutMs + 2000);
        worker.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        this.post({ t: 'stop', timeoutMs });
      });
    })();
    return this.closing;
  }

  /** Closes the writer's connection underneath it (what a test of a vanished database needs). */
  closeDatabase(): void {
    this.handOver();
    this.post({ t: 'closeDb' });
  }

  stats(): WriteQueueStats {
    return {
      written: this.written,
      failed: this.failed,
      dropped: this.dropped,
      queued: this.depth,
      capacity: this.maxQueueSize,
      lastError: this.lastError,
    };
  }

  private inFlight(): number {
    // Both counters wrap at 2^32 in the shared slot; the difference is exact below 2^31.
    return (this.sent - Atomics.load(this.shared, 0)) | 0;
  }

  private handOver(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pendingOps === 0) return;
    const data = this.pending;
    const n = this.pendingOps;
    this.pending = [];
    this.pendingOps = 0;
    if (this.worker === undefined) {
      this.dropped += n;
      return;
    }
    this.sent += n;
    this.post({ t: 'ops', data });
  }

  private post(msg: MainMessage): void {
    this.worker?.postMessage(msg);
  }

  /**
   * Back-pressure: hand over and wait (blocking) for the writer to make room. The agent is held to
   * the writer's pace for as long as the writer makes progress. When the writer waits on a lock
   * held by another connection, or makes no progress for `blockWhenFullMs` (a stalled disk), the
   * push gives up and no push waits again for a second: ops are dropped and counted instead.
   */
  private waitForRoom(n: number): boolean {
    if (this.blockWhenFullMs <= 0 || this.worker === undefined || this.closing !== undefined) return false;
    if (Date.now() < this.noBlockUntil) return false;
    this.handOver();
    let seen = Atomics.load(this.shared, 0);
    let deadline = Date.now() + this.blockWhenFullMs;
    while (!this.hasRoom(n)) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.load(this.shared, 1) === 1) {
        this.noBlockUntil = Date.now() + 1000;
        return false;
      }
      Atomics.wait(this.shared, 0, seen, Math.min(left, 20));
      const now = Atomics.load(this.shared, 0);
      if (now !== seen) {
        seen = now;
        deadline = Date.now() + this.blockWhenFullMs;
      }
    }
    return true;
  }

  private waitFor(seq: number, orBusy: boolean): Promise<void> {
    if (this.finished >= seq || this.worker === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ seq, orBusy, resolve });
      this.setRef(true);
    });
  }

  /** Held only while someone awaits the writer: an idle writer never keeps the process alive. */
  private setRef(on: boolean): void {
    if (on === this.refed || this.worker === undefined) return;
    this.refed = on;
    if (on) this.worker.ref();
    else if (this.closing === undefined) this.worker.unref();
  }

  private onMessage(msg: WorkerMessage): void {
    switch (msg.t) {
      case 'done':
        this.finished = msg.seq;
        this.written += msg.written;
        if (msg.failed > 0) {
          this.failed += msg.failed;
          this.report(msg.error ?? 'write failed', `${msg.failed} write(s) to ${this.path} failed: ${msg.error ?? 'unknown error'}`);
        }
        this.release((w) => w.seq <= this.finished);
        return;
      case 'busy':
        this.lastError = msg.error;
        this.release((w) => w.orBusy);
        return;
      case 'stopped':
        return;
    }
  }

  private release(ready: (w: Waiter) => boolean): void {
    if (this.waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (ready(w)) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
    if (keep.length === 0) this.setRef(false);
  }

  private writerGone(err: Error | undefined): void {
    if (this.worker === undefined) return;
    this.worker = undefined;
    live.delete(this);
    const lost = this.pendingOps + Math.max(0, this.inFlight());
    this.pending = [];
    this.pendingOps = 0;
    this.dropped += lost;
    if (err !== undefined) this.report(err.message, `the SQLite writer for ${this.path} stopped: ${err.message}`);
    this.release(() => true);
  }

  private report(error: string, message: string): void {
    this.lastError = error;
    warnOnce(`sqlite:${this.path}:${error}`, message);
    try {
      this.onError?.(new Error(error));
    } catch {
      /* a user's error callback must not break the writer either */
    }
  }
}
