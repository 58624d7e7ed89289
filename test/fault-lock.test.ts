import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { query, script, start, waitFor } from './fault-helpers.js';
import { tempDir } from './helpers.js';
import { requireBuild } from './register-helpers.js';

/** An agent recording 20 model calls every 50 ms for `ms`, then reporting what its writer saw. */
const APP = `
import { createMonitor } from '__INDEX__';
const [db, ms] = process.argv.slice(2);
const monitor = createMonitor({ db, registerGlobal: false });
console.log('started');
let calls = 0;
await monitor.withAgent({ type: 'steady' }, async (run) => {
  const end = Date.now() + Number(ms);
  while (Date.now() < end) {
    for (let i = 0; i < 20; i++, calls++) run.recordUsage({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1, outputTokens: 1 });
    await new Promise((r) => setTimeout(r, 50));
  }
});
await monitor.shutdown();
console.log(JSON.stringify({ calls, ...monitor.sqlite.stats() }));
`;

/** Another process that takes the write lock and keeps it for `ms`. */
const LOCKER = `
import Database from 'better-sqlite3';
const [db, ms] = process.argv.slice(2);
const conn = new Database(db);
conn.exec('BEGIN IMMEDIATE');
console.log('locked');
setTimeout(() => { conn.exec('COMMIT'); conn.close(); console.log('released'); }, Number(ms));
`;

describe('another process holding the write lock', () => {
  beforeAll(requireBuild);

  it('for 5 s: the agent keeps its rows queued, retries, and nothing is dropped', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const app = start(script(dir, 'lock-app.mjs', APP), [db, '8000'], {}, dir);
    await waitFor(app, 'started');
    const locker = start(script(dir, 'locker.mjs', LOCKER.replace("'better-sqlite3'", JSON.stringify(require.resolve('better-sqlite3')))), [db, '5000'], {}, dir);
    await waitFor(locker, 'locked');
    const held = await locker.done;
    expect(held.stdout).toContain('released');
    const end = await app.done;
    expect(end.stderr).toBe('');
    expect(end.code).toBe(0);
    const stats = JSON.parse(end.stdout.trim().split('\n').pop()!) as { calls: number; dropped: number; queued: number };
    expect(stats).toMatchObject({ dropped: 0, queued: 0 });
    expect(stats.calls).toBeGreaterThan(1000);
    expect(query(db, 'SELECT COUNT(*) AS n FROM telemetry')[0]).toEqual({ n: stats.calls });
    expect(query(db, 'SELECT COUNT(*) AS n FROM spans')[0]).toEqual({ n: stats.calls + 1 });
  }, 60_000);
});
