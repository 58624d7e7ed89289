/**
 * The writer thread: the one connection that writes, its transactions, busy retries and WAL
 * checkpoints, off the thread that records spans. Started by WriteQueue (write-queue.ts); the
 * protocol is the WorkerMessage / MainMessage types there.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { WriteOp } from '../spans/rows.js';
import { decodeOps } from './op-codec.js';
import type { MainMessage, WorkerMessage, WriteWorkerData } from './write-protocol.js';
import { BusyBackoff } from './busy-backoff.js';
import type { SqliteDatabase } from './database.js';
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
  db = new Database(data.path, { readonly: data.readonly, fileMustExist: true });
  db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
  db.pragma('foreign_keys = ON');
  if (!data.readonly) {
    db.pragma('synchronous = NORMAL');
    // Checkpoints run here on a timer, between transactions, never inside a commit; the keeper
    // also bounds the WAL (wal-keeper.ts).
    db.pragma('wal_autocheckpoint = 0');
    keeper = new WalKeeper(db, data.path);
  }
  writer = new SqliteWriter(db);
} catch (err) {
  openError = `cannot open ${data.path}: ${(err as Error).message}`;
}

let queue: WriteOp[] = [];
let head = 0;
/** Ops finished (written or failed) since the start: the commit sequence. */
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
    const end = Math.min(head + data.maxTransactionOps, queue.length);
    const batch = queue.slice(head, end);
    if (!writer) {
      head = end;
      finish(batch.length, 0, openError);
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
    head = end;
    finish(batch.length, result.applied, result.failed > 0 ? result.error?.message ?? 'write failed' : undefined);
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
      for (const op of decodeOps(msg.data)) queue.push(op);
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
