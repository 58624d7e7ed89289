// Overhead of `agentloupe run` on a 0.5 s Node command, against the same command run bare and
// with only `--import agentloupe/register`, interleaved in the same run (wall time, median of N).
// No OTLP endpoint is configured: the local-first path every new user starts with.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const REGISTER = fileURLToPath(new URL('../dist/instrumentation/register.js', import.meta.url));
const COMMAND = ['-e', 'setTimeout(() => {}, 500)'];

function cleanEnv(dir) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_') && !k.startsWith('AGENTLOUPE_') && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, AGENTLOUPE_DB: join(dir, 'm.db') };
}

function timed(args, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`exit ${code}: ${stderr}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export default async function bench({ quick, log }) {
  const rounds = quick ? 3 : 9;
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-bench-run-'));
  const env = cleanEnv(dir);
  const bare = [];
  const hooked = [];
  const viaRun = [];
  try {
    for (let i = 0; i < rounds; i++) {
      bare.push(await timed(COMMAND, env));
      hooked.push(await timed(['--import', REGISTER, ...COMMAND], env));
      viaRun.push(await timed([CLI, 'run', '--type', 'sleeper', '--', process.execPath, ...COMMAND], env));
      log(`round ${i + 1}/${rounds}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const b = median(bare);
  const h = median(hooked);
  const r = median(viaRun);
  return {
    name: 'run-overhead',
    results: {
      'bare node, 0.5 s command (ms)': Math.round(b),
      'with --import agentloupe/register (ms)': Math.round(h),
      'agentloupe run -- node (ms)': Math.round(r),
      'hook overhead (ms)': Math.round(h - b),
      'agentloupe run overhead (ms)': Math.round(r - b),
      'agentloupe run / bare': Number((r / b).toFixed(2)),
    },
    notes: [`median of ${rounds} interleaved rounds; wall time including Node start-up; no OTLP endpoint configured`],
  };
}
