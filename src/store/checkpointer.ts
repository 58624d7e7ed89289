import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { warnOnce } from '../log.js';
import type { SqliteDatabase } from './database.js';

/** The worker module; from the TypeScript sources (tests) the built copy in dist/ is used. */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? join(dirname(here), '..', '..', 'dist', 'src', 'store', 'checkpoint-worker.js') : join(dirname(here), 'checkpoint-worker.js');
}

/**
 * Moves WAL checkpoints of a writer connection off the calling thread: SQLite's automatic
 * checkpoint runs inside a commit and stalled the agent's event loop by 20-35 ms per few MB
 * written. If the worker cannot start, the connection keeps SQLite's automatic checkpoints.
 */
export class Checkpointer {
  // The WAL bound (wal-keeper.ts) is kept by the worker.
  private worker: Worker | undefined;

  constructor(db: SqliteDatabase, path: string, intervalMs = 1000) {
    try {
      this.worker = new Worker(workerScript(), { workerData: { path, intervalMs } });
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
