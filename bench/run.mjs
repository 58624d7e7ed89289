// Runs every bench/*.bench.mjs (or those named on the command line) against the built code.
//   npm run bench                 human-readable figures
//   npm run bench -- --json       one JSON object (for comparing runs)
//   npm run bench -- --quick      smaller sizes, for a smoke run
//   npm run bench -- core         only bench/core.bench.mjs
//   npm run bench -- instructions main-thread instructions under valgrind (slow; only when named)
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const only = args.filter((a) => !a.startsWith('--'));

if (!existsSync(join(here, '..', 'dist', 'src', 'index.js'))) {
  console.error('bench: build first (npm run build): dist/ is missing');
  process.exit(1);
}

// Benches that export `onlyWhenNamed` (slow ones) run only when named on the command line.
const files = [];
for (const f of readdirSync(here).filter((f) => f.endsWith('.bench.mjs')).sort()) {
  const name = f.replace(/\.bench\.mjs$/, '');
  if (only.length > 0 ? only.includes(name) : !(await import(pathToFileURL(join(here, f)).href)).onlyWhenNamed) files.push(f);
}
if (files.length === 0) {
  console.error(`bench: nothing to run (have: ${readdirSync(here).filter((f) => f.endsWith('.bench.mjs')).join(', ')})`);
  process.exit(2);
}

const report = { date: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}`, quick, benches: {} };
for (const file of files) {
  const mod = await import(pathToFileURL(join(here, file)).href);
  if (!json) process.stderr.write(`bench: running ${file}...\n`);
  const started = performance.now();
  const out = await mod.default({ quick, log: (m) => (json ? undefined : process.stderr.write(`  ${m}\n`)) });
  out.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  report.benches[out.name] = out;
  if (!json) {
    console.log(`\n== ${out.name} (${out.seconds}s)`);
    const w = Math.max(...Object.keys(out.results).map((k) => k.length));
    for (const [k, v] of Object.entries(out.results)) console.log(`  ${k.padEnd(w)}  ${typeof v === 'number' ? fmt(v) : v}`);
    for (const n of out.notes ?? []) console.log(`  - ${n}`);
  }
}
if (json) console.log(JSON.stringify(report, null, 2));

function fmt(v) {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
