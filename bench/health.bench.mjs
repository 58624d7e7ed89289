// Issue 5 figures: what health monitoring costs the agent.
//  - heartbeat() calls/s (memory + one batched write per tick) vs a bare Map.set per beat;
//  - heartbeats stored per second when flushed, vs raw better-sqlite3 upserts in one transaction;
//  - a health check run through the monitor (timeout race, cache, gauges) vs calling it directly.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthMonitor, HealthStore } from '../dist/src/index.js';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function rate(n, fn, repeats) {
  const rates = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn(r);
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

export default async function ({ quick }) {
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-health-bench-'));
  const repeats = quick ? 3 : 7;
  const beats = quick ? 20_000 : 100_000;
  const workers = 1000;
  try {
    const health = new HealthMonitor({ db: join(dir, 'h.db') });
    const tracker = health.heartbeats;
    const beatRate = rate(beats, () => {
      for (let i = 0; i < beats; i++) tracker.beat(`w${i % workers}`, { type: 'sandbox' });
      tracker.flush();
    }, repeats);
    const map = new Map();
    const mapRate = rate(beats, () => {
      for (let i = 0; i < beats; i++) map.set(`w${i % workers}`, { type: 'sandbox', t: Date.now() });
    }, repeats);

    // Stored heartbeats: one flush of `workers` distinct workers, vs raw upserts.
    const storedRate = rate(workers, (r) => {
      for (let i = 0; i < workers; i++) tracker.beat(`s${r}-${i}`, { type: 'sandbox' });
      tracker.flush();
    }, repeats);
    const raw = new Database(join(dir, 'raw.db'));
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.exec('CREATE TABLE hb (worker_id TEXT PRIMARY KEY, worker_type TEXT, last INTEGER, beats INTEGER)');
    const up = raw.prepare('INSERT INTO hb VALUES (?, ?, ?, 1) ON CONFLICT(worker_id) DO UPDATE SET last = excluded.last, beats = hb.beats + 1');
    const tx = raw.transaction((r) => {
      for (let i = 0; i < workers; i++) up.run(`s${r}-${i}`, 'sandbox', Date.now());
    });
    const rawRate = rate(workers, (r) => tx(r), repeats);
    raw.close();

    // Check runs.
    const runs = quick ? 2000 : 10_000;
    const check = () => ({ status: 'healthy', metadata: { n: 1 } });
    health.register({ name: 'bench', check, intervalMs: 3_600_000 });
    await health.run('bench');
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await health.run('bench');
    const monitoredRate = runs / ((performance.now() - t0) / 1000);
    const t1 = performance.now();
    for (let i = 0; i < runs; i++) await Promise.resolve(check());
    const directRate = runs / ((performance.now() - t1) / 1000);
    await health.shutdown();
    const store = HealthStore.open(join(dir, 'h.db'), { readonly: true });
    const storedWorkers = store.listWorkers().length;
    store.close();

    return {
      name: 'health',
      results: {
        heartbeat_calls_per_s: Math.round(beatRate),
        map_set_baseline_per_s: Math.round(mapRate),
        heartbeat_vs_map_ratio: Number((beatRate / mapRate).toFixed(3)),
        heartbeats_stored_per_s: Math.round(storedRate),
        raw_sqlite_upserts_per_s: Math.round(rawRate),
        stored_vs_raw_ratio: Number((storedRate / rawRate).toFixed(3)),
        check_runs_per_s: Math.round(monitoredRate),
        direct_check_calls_per_s: Math.round(directRate),
        check_run_overhead_us: Number(((1 / monitoredRate - 1 / directRate) * 1e6).toFixed(2)),
        workers_stored: storedWorkers,
      },
      notes: [
        `${beats} heartbeats over ${workers} workers per repeat, median of ${repeats}; flush included`,
        'stored: one flush of 1000 new workers (one transaction) vs 1000 raw prepared upserts in one transaction',
        `${runs} sequential check runs (timeout timer, race, cache update, no status change) vs awaiting the check directly`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
