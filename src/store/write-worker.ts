/**
 * The writer thread: the one connection that writes, its transactions, busy retries and WAL
 * checkpoints, off the thread that records spans. Started by WriteQueue (write-queue.ts); the
 * protocol is the WorkerMessage / MainMessage types there.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { WriteOp } from '../spans/rows.js';
import { decodeUnits, HandOverReceiver } from './op-codec.js';
import type { MainMessage, WorkerMessage, WriteWorkerData } from './write-protocol.js';
import { BusyBackoff } from './busy-backoff.js';
import { openDatabase, type SqliteDatabase } from './database.js';
import { WalKeeper } from './wal-keeper.js';
import { isBusy, SqliteWriter } from './writer.js';

const data = workerData as WriteWorkerData;
const port = parentPort!;
const committed = new Int32Array(data.shared);

let db: SqliteDatabase | undefined;
let writer: SqliteWriter | undefined;
let keeper: WalKeeper | undefined;
let openError: string | undefined;
try {
  if (data.readonly) {
    db = new Database(data.path, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
    db.pragma('foreign_keys = ON');
  } else {
    // openDatabase sets the writer's pragmas, and migrates an older file here, off the thread
    // that records (its deferMigration option).
    db = openDatabase(data.path, { busyTimeoutMs: data.busyTimeoutMs });
    // Checkpoints run here on a timer, between transactions, never inside a commit; the keeper
    // also bounds the WAL (wal-keeper.ts).
    db.pragma('wal_autocheckpoint = 0');
    keeper = new WalKeeper(db, data.path);
  }
  writer = new SqliteWriter(db);
} catch (err) {
  openError = `cannot open ${data.path}: ${(err as Error).message}`;
}

/** The resources and attribute key lists the queue has sent so far (op-codec.ts). */
const handOver = new HandOverReceiver();

/** Queued units: one op, or the ops of one ended span (the queue counts units). */
let queue: WriteOp[][] = [];
let head = 0;
/** Units whose span could not be mapped to rows: counted as failed when their turn comes. */
const unmapped = new WeakSet<WriteOp[]>();
let unmappedError: string | undefined;
/** Units finished (written or failed) since the start: the commit sequence. */
let done = 0;
let scheduled = false;
let retryTimer: NodeJS.Timeout | undefined;
const backoff = new BusyBackoff();
let stopping: { deadline: number } | undefined;

function post(msg: WorkerMessage): void {
  port.postMessage(msg);
}

function finish(n: number, written: number, error?: string): void {
  done += n;
  Atomics.store(committed, 0, done | 0);
  Atomics.notify(committed, 0);
  post({ t: 'done', seq: done, written, failed: n - written, error });
}

function schedule(): void {
  if (scheduled || retryTimer !== undefined) return;
  scheduled = true;
  setImmediate(drain);
}

/** Applies everything queued, a transaction of up to maxTransactionOps at a time. */
function drain(): void {
  scheduled = false;
  while (head < queue.length) {
    // Whole units, up to a transaction's worth of ops (at least one unit).
    let end = head;
    let opCount = 0;
    while (end < queue.length && (end === head || opCount + queue[end]!.length <= data.maxTransactionOps)) opCount += queue[end++]!.length;
    const units = end - head;
    const batch = units === 1 ? queue[head]! : queue.slice(head, end).flat();
    if (!writer) {
      head = end;
      finish(units, 0, openError);
      continue;
    }
    const result = writer.apply(batch);
    if (result.error && isBusy(result.error) && !(stopping && Date.now() >= stopping.deadline)) {
      // Another connection holds the write lock: keep the rows (the queue's bound still holds),
      // try again after a growing wait, and tell the queue so a flush does not wait on someone
      // else's transaction.
      const wait = stopping ? 50 : backoff.busy();
      Atomics.store(committed, 1, 1);
      post({ t: 'busy', error: result.error.message });
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        schedule();
      }, wait);
      return;
    }
    if (backoff.attempts > 0) Atomics.store(committed, 1, 0);
    backoff.succeeded();
    let failed = result.failed;
    let error = failed > 0 ? result.error?.message ?? 'write failed' : undefined;
    for (let u = head; u < end; u++) {
      if (!unmapped.has(queue[u]!)) continue;
      failed++;
      error ??= unmappedError;
    }
    head = end;
    finish(units, Math.max(0, units - failed), error);
    // A long drain keeps the timer from firing; without this the WAL grew past its bound
    // (69 MB against 64 MiB) while a steady collector load kept this loop busy.
    if (Date.now() - lastCheckpoint >= data.checkpointIntervalMs / 4) checkpoint();
  }
  queue = [];
  head = 0;
  if (stopping) stop();
}

let lastCheckpoint = Date.now();

function checkpoint(): void {
  lastCheckpoint = Date.now();
  if (!db?.open) return;
  try {
    keeper?.tick();
  } catch {
    /* busy: next round */
  }
}

const checkpointTimer = setInterval(checkpoint, data.checkpointIntervalMs);

function stop(): void {
  clearInterval(checkpointTimer);
  checkpoint();
  if (db?.open) db.close();
  post({ t: 'stopped' });
  port.close();
}

port.on('message', (msg: MainMessage) => {
  switch (msg.t) {
    case 'ops':
      decodeUnits(
        msg.data,
        queue,
        (unit, err) => {
          unmapped.add(unit);
          unmappedError = `could not map a span: ${err.message}`;
        },
        handOver,
      );
      // A sender that posts faster than we decode keeps this thread in message handlers and never
      // lets setImmediate run: past a transaction's worth, write now.
      if (queue.length - head >= data.maxTransactionOps && retryTimer === undefined) drain();
      else schedule();
      return;
    case 'stop':
      stopping = { deadline: Date.now() + msg.timeoutMs };
      if (db?.open) db.pragma(`busy_timeout = ${Math.min(msg.timeoutMs, 1000)}`);
      if (retryTimer !== undefined) {
        clearTimeout(retryTimer);
        retryTimer = undefined;
      }
      if (head < queue.length) schedule();
      else stop();
      return;
    case 'closeDb':
      if (db?.open) db.close();
      return;
  }
});
