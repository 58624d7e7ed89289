// What handing ended spans to the writer thread costs the recording thread: postMessage of one
// batch of real model-call spans, encoded as the SQLite processor encodes them (each resource and
// attribute key list sent once per queue, then only values) against the same spans with the
// resource in every span's text and the attributes as an object (the encoding before), same run.
// CPU time of the sending thread only (/proc schedstat); the writer here only counts messages.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createMonitor } from '../dist/src/index.js';
import { encodeEndedReadableSpan } from '../dist/src/spans/ended-span-transfer.js';
import { appendEnded, HandOverSender } from '../dist/src/store/op-codec.js';

const BATCH = 512;
const threadCpuNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function modelCallSpans(n) {
  const captured = [];
  const provider = new BasicTracerProvider({ spanProcessors: [{ onStart() {}, onEnd: (s) => captured.push(s), forceFlush: async () => {}, shutdown: async () => {} }] });
  const monitor = createMonitor({ tracerProvider: provider, registerGlobal: false, metricReaders: [] });
  const run = monitor.startAgent({ type: 'bench' });
  for (let i = 0; i < n; i++) run.recordUsage({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1000 + i, outputTokens: 200, cacheReadTokens: 300, durationMs: 5 });
  run.complete();
  await monitor.shutdown();
  return captured.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat');
}

export default async function handover({ quick }) {
  const spans = await modelCallSpans(BATCH);
  const owner = { agentId: 'bench-run', agentLive: true };
  const cost = { costUsd: 0.001, priced: true };
  // Before: the resource's JSON (made once, as it was cached) joined into every span's text.
  const resourceJson = JSON.stringify(spans[0].resource.attributes);
  const before = () => {
    const out = [];
    for (const s of spans) out.push(10, `${encodeEndedReadableSpan(s, owner, cost)}\u0001${resourceJson}`, s.attributes);
    return out;
  };
  const sender = new HandOverSender();
  const now = () => {
    const out = [];
    for (const s of spans) appendEnded(encodeEndedReadableSpan(s, owner, cost), s.resource.attributes, s.attributes, out, sender);
    return out;
  };
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', () => {});", { eval: true });
  const rounds = quick ? 3 : 7;
  const batches = quick ? 20 : 100;
  const cost_ = { before: [], now: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [name, encode] of [['before', before], ['now', now]]) {
        const t0 = threadCpuNs();
        for (let b = 0; b < batches; b++) worker.postMessage(encode());
        cost_[name].push((threadCpuNs() - t0) / 1000 / (batches * BATCH));
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  } finally {
    await worker.terminate();
  }
  const b = median(cost_.before);
  const n = median(cost_.now);
  return {
    name: 'handover',
    results: {
      'sending thread CPU µs per span, resource and attribute keys with every span (before)': Number(b.toFixed(2)),
      'sending thread CPU µs per span, resource and key lists sent once (now)': Number(n.toFixed(2)),
      'ratio now / before': Number((n / b).toFixed(3)),
    },
    notes: [`${batches} batches of ${BATCH} real model-call spans per round, encoded and posted; median of ${rounds} interleaved rounds; the receiving thread only takes the messages`],
  };
}
