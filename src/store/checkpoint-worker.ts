/**
 * The checkpoint thread of a writer connection that writes on the main thread (see
 * checkpointer.ts): its own connection runs the WAL upkeep between the writer's transactions.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { WalKeeper } from './wal-keeper.js';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const port = parentPort!;
const db = new Database(path, { fileMustExist: true });
// A RESTART checkpoint waits this long for readers to move on before trying again next tick.
db.pragma('busy_timeout = 1000');
const keeper = new WalKeeper(db, path);
const timer = setInterval(() => keeper.tick(), intervalMs);
port.on('message', (msg: string) => {
  if (msg !== 'stop') {
    keeper.tick();
    return;
  }
  clearInterval(timer);
  keeper.tick();
  db.close();
  port.close();
});
