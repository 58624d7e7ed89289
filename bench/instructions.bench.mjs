// Main-thread instructions per recorded model call, counted by valgrind's callgrind: a bare OTel
// span with the same attributes, createMonitor({ db: false }), and createMonitor with the SQLite
// mirror. Instruction counts do not move with the machine's load, which wall-clock and even CPU
// time figures do (2 shared cores here); they leave out what an instruction costs (cache misses,
// syscalls), so read them beside `bench -- core`. Slow (valgrind runs each variant twice, at
// 0 and at N calls, and subtracts start-up): it runs only when named, `npm run bench -- instructions`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const onlyWhenNamed = true;

const here = dirname(fileURLToPath(import.meta.url));
const DIST = pathToFileURL(join(here, '..', 'dist', 'src', 'index.js')).href;

const APP = (dbDir) => `
import { createMonitor } from ${JSON.stringify(DIST)};
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { setImmediate as tick } from 'node:timers/promises';
const [mode, nArg] = process.argv.slice(2);
const n = Number(nArg);
const usage = (i) => ({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1000 + (i % 500), outputTokens: 200, cacheReadTokens: 300, durationMs: 5 });
const noop = { export: (_s, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
let record, flush, done;
if (mode === 'bare') {
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(noop, { maxQueueSize: 2048, maxExportBatchSize: 512 })] });
  const tracer = provider.getTracer('bench');
  record = (i) => { const u = usage(i); tracer.startSpan('chat claude-sonnet-4-5', { kind: 2, attributes: {
    'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': u.provider, 'gen_ai.request.model': u.model, 'gen_ai.response.model': u.model,
    'gen_ai.usage.input_tokens': u.inputTokens, 'gen_ai.usage.output_tokens': u.outputTokens, 'gen_ai.usage.cache_read.input_tokens': u.cacheReadTokens,
    'gen_ai.usage.cache_creation.input_tokens': 0, 'gen_ai.usage.reasoning.output_tokens': 0, 'agentloupe.cost.usd': 0.001,
    'agentloupe.owner.agent_id': 'bench-0123456789ab', 'gen_ai.agent.name': 'bench' }, startTime: Date.now() - 5 }).end(); };
  flush = () => provider.forceFlush(); done = () => provider.shutdown();
} else {
  const monitor = createMonitor({ db: mode === 'db' ? ${JSON.stringify(dbDir)} + '/m-' + process.pid + '.db' : false, registerGlobal: false, metricReaders: [] });
  const run = monitor.startAgent({ type: 'bench' });
  await monitor.forceFlush();
  record = (i) => run.recordUsage(usage(i));
  flush = () => monitor.forceFlush(); done = async () => { run.complete(); await monitor.shutdown(); };
}
for (let i = 0; i < n; i += 100) { for (let j = i; j < Math.min(n, i + 100); j++) record(j); await tick(); }
await flush();
await done();
`;

/** Instructions the main thread executed (callgrind's part 1 with --separate-threads). */
function mainThreadInstructions(dir, script, mode, n) {
  const out = join(dir, `cg.${mode}.${n}`);
  const r = spawnSync('valgrind', ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${out}`, process.execPath, script, mode, String(n)], {
    cwd: join(here, '..'),
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`valgrind ${mode} ${n} failed (${r.status}): ${r.stderr.slice(-500)}`);
  const file = readdirSync(dir).find((f) => f === `cg.${mode}.${n}-01`);
  const m = /^summary: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
  return Number(m[1]);
}

export default async function instructions({ quick, log }) {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    return { name: 'instructions', results: {}, notes: ['skipped: valgrind is not installed (Debian package `valgrind`)'] };
  }
  const n = quick ? 1000 : 4000;
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-bench-ir-'));
  // The script lives in the project, so it resolves the project's own packages.
  const script = join(here, `.instructions-app-${process.pid}.mjs`);
  writeFileSync(script, APP(dir));
  try {
    const perCall = {};
    for (const mode of ['bare', 'nodb', 'db']) {
      log(`${mode}: callgrind at 0 and ${n} calls`);
      perCall[mode] = (mainThreadInstructions(dir, script, mode, n) - mainThreadInstructions(dir, script, mode, 0)) / n;
    }
    return {
      name: 'instructions',
      results: {
        'main-thread instructions per model call, bare otel span': Math.round(perCall.bare),
        'main-thread instructions per model call, createMonitor db:false': Math.round(perCall.nodb),
        'main-thread instructions per model call, createMonitor + sqlite mirror': Math.round(perCall.db),
        'ratio db:false / bare': Number((perCall.nodb / perCall.bare).toFixed(2)),
        'ratio mirror / bare': Number((perCall.db / perCall.bare).toFixed(2)),
      },
      notes: [
        `${n} calls in bursts of 100 per event-loop turn, flush included, JIT warm-up included; start-up subtracted (a run with 0 calls)`,
        'one valgrind run per figure: repeat runs of the same build differ by up to ~15% (garbage collection timing), so compare ratios',
      ],
    };
  } finally {
    rmSync(script, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
