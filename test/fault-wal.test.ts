import Database from 'better-sqlite3';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WAL_BOUND_BYTES, walBytes } from '../src/store/wal-keeper.js';
import { otlpRequest, post, sleep, startCollectorProcess } from './fault-helpers.js';
import { tempDir } from './helpers.js';
import { requireBuild } from './register-helpers.js';

describe('the WAL under steady collector load', () => {
  beforeAll(requireBuild);

  it('stays under the documented bound for 30 s with a reader beside it, and is truncated when idle', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const { child, url } = await startCollectorProcess(db, dir);
    try {
      let largest = 0;
      let stored = 0;
      const until = Date.now() + 30_000;
      // A reader polling like the UI: its snapshots are what starves PASSIVE checkpoints.
      const reader = (async () => {
        await sleep(500);
        const conn = new Database(db, { readonly: true });
        while (Date.now() < until) {
          conn.prepare('SELECT COUNT(*) FROM spans').get();
          largest = Math.max(largest, walBytes(db));
          await sleep(100);
        }
        conn.close();
      })();
      const sender = async (s: number): Promise<void> => {
        for (let r = 0; Date.now() < until; r++) {
          const res = await post(url, otlpRequest(s, r));
          if (res.status === 200) stored++;
          else await sleep(100);
        }
      };
      await Promise.all([reader, ...[0, 1, 2, 3].map(sender)]);
      expect(stored).toBeGreaterThan(100);
      expect(largest).toBeLessThanOrEqual(WAL_BOUND_BYTES);
      // Idle: truncated to nothing within a few checkpoint rounds.
      let idle = walBytes(db);
      for (let i = 0; i < 100 && idle > 0; i++) {
        await sleep(100);
        idle = walBytes(db);
      }
      expect(idle).toBe(0);
      console.log(`WAL under load: largest ${(largest / 1048576).toFixed(1)} MiB (bound ${WAL_BOUND_BYTES / 1048576} MiB), ${stored} requests stored`);
    } finally {
      child.proc.kill('SIGKILL');
      await child.done;
    }
  }, 90_000);
});
