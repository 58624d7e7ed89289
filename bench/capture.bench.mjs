// Overhead of model-call capture on a streamed call: time to first chunk and total time, with
// and without `--import agentloupe/register`, against the same local SSE server in the same run.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { StreamTextUsageParser } from '../dist/src/telemetry/parsers.js';
import { StreamContentAccumulator } from '../dist/src/telemetry/stream-content.js';

const REGISTER = pathToFileURL(fileURLToPath(new URL('../dist/instrumentation/register.js', import.meta.url))).href;
const CHUNKS = 40;

function chunk(i, model) {
  const base = { id: 'chatcmpl-b', object: 'chat.completion.chunk', created: 1, model };
  if (i === CHUNKS - 1) return `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 900, completion_tokens: 120, total_tokens: 1020, prompt_tokens_details: { cached_tokens: 512 } } })}\n\ndata: [DONE]\n\n`;
  return `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: `tok${i} ` }, finish_reason: null }] })}\n\n`;
}

function startServer() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      // Chunks one event-loop turn apart, as a fast model streams them.
      const next = () => {
        if (i >= CHUNKS) return res.end();
        res.write(chunk(i++, 'gpt-4o-mini'));
        setImmediate(next);
      };
      next();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const APP = `
const url = process.env.BENCH_URL + '/v1/chat/completions';
const n = Number(process.env.BENCH_CALLS);
const ttfc = [], total = [];
const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
for (let i = 0; i < n + 3; i++) {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const reader = res.body.getReader();
  let first;
  for (;;) { const { done } = await reader.read(); if (first === undefined) first = performance.now() - t0; if (done) break; }
  // the first three calls warm up the JIT and the connection pool
  if (i >= 3) { ttfc.push(first); total.push(performance.now() - t0); }
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
console.log(JSON.stringify({ ttfc: median(ttfc), total: median(total) }));
`;

function runApp(dir, env, withHook) {
  return new Promise((resolve, reject) => {
    const args = withHook ? ['--import', REGISTER, 'app.mjs'] : ['app.mjs'];
    const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`bench app exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

/**
 * CPU µs to read the usage of one whole stream (the chunks the server sends, as bytes), against
 * the baseline of decoding every chunk and JSON.parse-ing every event of it, in the same run.
 */
function parserCost(streams) {
  const enc = new TextEncoder();
  const chunks = Array.from({ length: CHUNKS }, (_, i) => enc.encode(chunk(i, 'gpt-4o-mini')));
  const dec = new TextDecoder();
  let sink = 0;
  const cpu = (fn) => {
    const t0 = process.cpuUsage();
    for (let k = 0; k < streams; k++) sink += fn();
    const c = process.cpuUsage(t0);
    return (c.user + c.system) / streams;
  };
  const parser = () => {
    const p = new StreamTextUsageParser({ provider: 'openai', format: 'openai', framing: 'sse' });
    for (const c of chunks) p.push(c);
    return p.end().totalTokens;
  };
  const withContent = () => {
    const content = new StreamContentAccumulator();
    const p = new StreamTextUsageParser({ provider: 'openai', format: 'openai', framing: 'sse', content });
    for (const c of chunks) p.push(c);
    return p.end().totalTokens + content.messages().length;
  };
  const parseAll = () => {
    let n = 0;
    for (const c of chunks) for (const line of dec.decode(c).split('\n')) if (line.startsWith('data: {')) n += JSON.parse(line.slice(6)).created;
    return n;
  };
  const a = [], b = [], c = [];
  for (let r = 0; r < 5; r++) {
    a.push(cpu(parser));
    b.push(cpu(parseAll));
    c.push(cpu(withContent));
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[2];
  return { parser: med(a), parseAll: med(b), withContent: med(c), sink };
}

export default async function ({ quick }) {
  // 400 calls a process: with 60 the median mostly measured the JIT warming up the hook's code.
  const calls = quick ? 15 : Number(process.env.CAPTURE_CALLS ?? 400);
  const rounds = quick ? 1 : 3;
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-bench-capture-'));
  try {
    writeFileSync(join(dir, 'app.mjs'), APP);
    const env = {
      ...process.env,
      BENCH_URL: `http://127.0.0.1:${server.address().port}`,
      BENCH_CALLS: String(calls),
      AGENTLOUPE_DB: join(dir, 'monitoring.db'),
      AGENTLOUPE_LOG: 'silent',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
    };
    delete env.NODE_OPTIONS;
    const base = [];
    const hooked = [];
    // Interleaved rounds, so drift in machine load hits both sides alike.
    for (let r = 0; r < rounds; r++) {
      base.push(await runApp(dir, env, false));
      hooked.push(await runApp(dir, env, true));
    }
    const parse = parserCost(quick ? 500 : 5000);
    const best = (xs, k) => Math.min(...xs.map((x) => x[k]));
    const b = { ttfc: best(base, 'ttfc'), total: best(base, 'total') };
    const h = { ttfc: best(hooked, 'ttfc'), total: best(hooked, 'total') };
    return {
      name: 'capture',
      results: {
        'streamed call, time to first chunk, bare (ms)': Number(b.ttfc.toFixed(3)),
        'streamed call, time to first chunk, with hook (ms)': Number(h.ttfc.toFixed(3)),
        'time to first chunk ratio (hook / bare)': Number((h.ttfc / b.ttfc).toFixed(3)),
        'streamed call, total, bare (ms)': Number(b.total.toFixed(3)),
        'streamed call, total, with hook (ms)': Number(h.total.toFixed(3)),
        'total time ratio (hook / bare)': Number((h.total / b.total).toFixed(3)),
        [`usage parser CPU µs per ${CHUNKS}-event stream`]: Number(parse.parser.toFixed(1)),
        [`JSON.parse of every event of the same stream, CPU µs`]: Number(parse.parseAll.toFixed(1)),
        'ratio usage parser / JSON.parse of every event': Number((parse.parser / parse.parseAll).toFixed(3)),
        [`usage parser with the answer rebuilt (content capture on), CPU µs per ${CHUNKS}-event stream`]: Number(parse.withContent.toFixed(1)),
      },
      notes: [
        `${CHUNKS}-event SSE stream from a local server on 127.0.0.1, ${calls} calls per process after 3 warm-up calls; median per process, best of ${rounds} interleaved process pair(s).`,
        'With the hook every call is also parsed for usage and written as a chat span + telemetry row (SQLite); exporters off.',
        'The fake server runs in this process, on the same cores as the app and its writer thread: the call times include that contention.',
        'Usage parser: the same stream as bytes through StreamTextUsageParser (content deltas are recognised by their text and not parsed), median of 5 rounds.',
      ],
    };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
