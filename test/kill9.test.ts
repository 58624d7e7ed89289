/**
 * `kill -9` of an instrumented app, again and again: the database is never corrupt, and nothing
 * recorded more than 1 s before the kill is lost. Real child processes, each recording model calls
 * through the public API while a parent kills it at a random moment.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { requireBuild, ROOT } from './register-helpers.js';

const CYCLES = 30;
const LANES = 3;

const APP = `
import { createMonitor } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/index.js')).href)};
const monitor = createMonitor({ db: process.env.DB, registerGlobal: false, metricReaders: [] });
const run = monitor.startAgent({ type: 'victim' });
run.running();
// The writer thread is up once something is committed: the 1 s bound counts from there (its
// start can take a few hundred ms on a loaded machine).
await monitor.forceFlush();
let i = 0;
process.stdout.write('ready\\n');
for (;;) {
  // Bursts of calls, each numbered by its input tokens; the number is printed once recorded.
  for (let k = 0; k < 20; k++) run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: ++i, outputTokens: 1 });
  process.stdout.write(i + '\\n');
  await new Promise((r) => setTimeout(r, 5));
}
`;

interface Cycle {
  /** Highest call number the parent had seen printed more than 1 s before the kill. */
  mustHave: number;
  lastSeen: number;
}

function cycle(app: string, db: string, lifeMs: number): Promise<Cycle> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [app], { env: { ...process.env, DB: db }, stdio: ['ignore', 'pipe', 'inherit'] });
    const seen: { n: number; at: number }[] = [];
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') timer ??= setTimeout(() => child.kill('SIGKILL'), lifeMs);
        else seen.push({ n: Number(line), at: Date.now() });
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`the app ended by itself (${signal ?? _code})`));
      const killedAt = Date.now();
      const old = seen.filter((s) => s.at < killedAt - 1000);
      resolve({ mustHave: old.length > 0 ? old[old.length - 1]!.n : 0, lastSeen: seen.length > 0 ? seen[seen.length - 1]!.n : 0 });
    });
  });
}

describe('kill -9 of an instrumented app', () => {
  beforeAll(requireBuild);

  it(`${CYCLES} cycles: no corruption, nothing recorded more than 1 s before the kill lost`, async () => {
    const dir = tempDir();
    const app = join(dir, 'app.mjs');
    writeFileSync(app, APP);
    const lane = async (l: number): Promise<number> => {
      const db = join(dir, `lane-${l}.db`);
      let checked = 0;
      for (let c = 0; c < CYCLES / LANES; c++) {
        const r = await cycle(app, db, 300 + Math.floor(Math.random() * 1500));
        const conn = new Database(db, { readonly: true });
        try {
          expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
          // Each cycle is its own run: its calls are the telemetry rows of the newest agent.
          const stored = conn
            .prepare("SELECT COALESCE(MAX(t.input_tokens), 0) AS n, COUNT(*) AS c FROM telemetry t WHERE t.agent_id = (SELECT id FROM agents ORDER BY rowid DESC LIMIT 1)")
            .get() as { n: number; c: number };
          expect(stored.n, `cycle ${c} of lane ${l}: printed ${r.lastSeen}, ${r.mustHave} more than 1 s before the kill`).toBeGreaterThanOrEqual(r.mustHave);
          // Calls are stored in order: no gaps below the highest one.
          expect(stored.c).toBe(stored.n);
          if (r.mustHave > 0) checked++;
        } finally {
          conn.close();
        }
      }
      return checked;
    };
    const checked = (await Promise.all(Array.from({ length: LANES }, (_, l) => lane(l)))).reduce((a, b) => a + b, 0);
    // Most kills come late enough that something was recorded over a second before them.
    expect(checked).toBeGreaterThan(CYCLES / 3);
  }, 240_000);
});
