import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { warnOnce } from '../log.js';
import type { SqliteDatabase } from './database.js';

/**
 * The worker: checkpoints the WAL on its own connection. Kept as source text (an eval worker)
 * so it runs the same from the TypeScript sources and from dist/; better-sqlite3 is loaded from
 * the path this module resolves.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: next round */ } };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (msg) => {
  if (msg !== 'stop') return checkpoint();
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Moves WAL checkpoints of a writer connection off the calling thread: SQLite's automatic
 * checkpoint runs inside a commit and stalled the agent's event loop by 20-35 ms per few MB
 * written. If the worker cannot start, the connection keeps SQLite's automatic checkpoints.
 */
export class Checkpointer {
  private worker: Worker | undefined;

  constructor(db: SqliteDatabase, path: string, intervalMs = 1000) {
    try {
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, driver } });
      this.worker.unref();
      this.worker.on('error', (err) => {
        warnOnce(`checkpoint:${path}`, `WAL checkpoints for ${path} moved back to the writer: ${err.message}`);
        this.worker = undefined;
        if (db.open) db.pragma('wal_autocheckpoint = 1000');
      });
      db.pragma('wal_autocheckpoint = 0');
    } catch (err) {
      warnOnce(`checkpoint:${path}`, `WAL checkpoints for ${path} stay on the writer: ${(err as Error).message}`);
      this.worker = undefined;
    }
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    // Held open while it finishes: an unref'd worker alone would let the process exit mid-await.
    worker.ref();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 2000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage('stop');
    });
  }
}
