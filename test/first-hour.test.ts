/**
 * The first hour of a new user, in one process: AGENTLOUPE_DB=off honoured by createMonitor,
 * one monitor per process, records that never start before their agent run, full time precision,
 * unpriced calls without a $0 cost, and createMonitor({ captureLlmCalls }) with the real openai SDK.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitor, semconv as A } from '../src/index.js';
import { METRIC } from '../src/metrics/index.js';
import { MODELS, OPENAI_USAGE, startFakeLlmServer, type FakeLlmServer } from './fake-llm-server.js';
import { tempDir } from './helpers.js';
import { query } from './register-helpers.js';

class CollectingReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const ns = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeLlmServer();
});
afterAll(async () => {
  await fake?.close();
});

describe('AGENTLOUPE_DB=off', () => {
  it('turns the database off for createMonitor() too (no file named "off")', async () => {
    const dir = tempDir();
    const cwd = process.cwd();
    const before = process.env.AGENTLOUPE_DB;
    process.chdir(dir);
    process.env.AGENTLOUPE_DB = 'off';
    try {
      const monitor = createMonitor({ registerGlobal: false });
      expect(monitor.sqlite).toBeUndefined();
      await monitor.withAgent({ type: 'quiet' }, (run) => run.recordTool({ name: 'noop' }));
      await monitor.shutdown();
      expect(existsSync(join(dir, 'off'))).toBe(false);
    } finally {
      process.chdir(cwd);
      if (before === undefined) delete process.env.AGENTLOUPE_DB;
      else process.env.AGENTLOUPE_DB = before;
    }
  });
});

describe('true timings', () => {
  it('never back-dates a record before its run: clamps, and keeps the caller figure as an attribute', async () => {
    const spans = new InMemorySpanExporter();
    const monitor = createMonitor({ db: join(tempDir(), 'm.db'), registerGlobal: false, spanProcessors: [new SimpleSpanProcessor(spans)] });
    await monitor.withAgent({ type: 'planner' }, async (run) => {
      await sleep(30);
      run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 10, outputTokens: 5, durationMs: 4200 });
      run.recordTool({ name: 'bash', durationMs: 10 });
      await run.withTool({ name: 'timed' }, () => sleep(5));
    });
    await monitor.forceFlush();
    const all = spans.getFinishedSpans();
    await monitor.shutdown();
    const agent = all.find((s) => s.name.startsWith('invoke_agent'))!;
    const chat = all.find((s) => s.name.startsWith('chat'))!;
    const bash = all.find((s) => s.name === 'execute_tool bash')!;
    expect(ns(chat.startTime)).toBe(ns(agent.startTime));
    expect(chat.attributes[A.AGENTLOUPE_REPORTED_DURATION_MS]).toBe(4200);
    // A duration that fits is honoured exactly, with no attribute.
    expect(Number(ns(bash.endTime) - ns(bash.startTime)) / 1e6).toBeCloseTo(10, 3);
    expect(bash.attributes[A.AGENTLOUPE_REPORTED_DURATION_MS]).toBeUndefined();
    for (const s of all.filter((x) => x !== agent)) {
      expect(ns(s.startTime)).toBeGreaterThanOrEqual(ns(agent.startTime));
      expect(ns(s.endTime)).toBeLessThanOrEqual(ns(agent.endTime));
    }
    // Full precision: starts are not cut to whole milliseconds (the SDK default) beside sub-ms ends.
    const subMs = all.filter((s) => s.startTime[1] % 1_000_000 !== 0);
    expect(subMs.length).toBeGreaterThan(all.length / 2);
  });
});

describe('unpriced calls', () => {
  it('carry no cost attribute (only the unpriced flag) and add no cost sample', async () => {
    const spans = new InMemorySpanExporter();
    const reader = new CollectingReader();
    const db = join(tempDir(), 'm.db');
    const monitor = createMonitor({ db, registerGlobal: false, metricReaders: [reader], spanProcessors: [new SimpleSpanProcessor(spans)] });
    await monitor.withAgent({ type: 'doc' }, (run) => {
      run.recordUsage({ provider: 'vllm', model: 'qwen3-coder-30b', inputTokens: 2200, outputTokens: 400 });
      run.recordUsage({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 3100, outputTokens: 900 });
    });
    await monitor.forceFlush();
    const byModel = (m: string): ReadableSpan => spans.getFinishedSpans().find((s) => s.attributes[A.GEN_AI_REQUEST_MODEL] === m)!;
    expect(byModel('qwen3-coder-30b').attributes[A.AGENTLOUPE_COST_USD]).toBeUndefined();
    expect(byModel('qwen3-coder-30b').attributes[A.AGENTLOUPE_COST_UNPRICED]).toBe(true);
    expect(byModel('gpt-4o-mini').attributes[A.AGENTLOUPE_COST_USD]).toBeGreaterThan(0);
    const { resourceMetrics } = await reader.collect();
    const cost = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === METRIC.cost)!;
    const models = cost.dataPoints.map((p) => p.attributes[A.GEN_AI_REQUEST_MODEL]);
    expect(models).toEqual(['gpt-4o-mini']);
    await monitor.shutdown();
    expect(query<{ unpriced: number }>(db, "SELECT c.unpriced FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id WHERE t.model = 'qwen3-coder-30b'")).toEqual([{ unpriced: 1 }]);
  });
});

describe('one monitor per process', () => {
  it('two createMonitor() calls share one tracer provider and one writer; the last shutdown stops it', async () => {
    const db = join(tempDir(), 'm.db');
    const first = createMonitor({ db, serviceName: 'one-service' });
    const second = createMonitor();
    expect(second.joined).toBe(true);
    expect(second.tracerProvider).toBe(first.tracerProvider);
    expect(second.sqlite).toBe(first.sqlite);
    await first.withAgent({ type: 'outer' }, () => second.withAgent({ type: 'inner' }, (run) => run.recordTool({ name: 't' })));
    await first.shutdown();
    // The second handle still works after the first let go.
    await second.withAgent({ type: 'late' }, () => undefined);
    await second.shutdown();
    const rows = query<{ agent_type: string; parent: string | null }>(db, 'SELECT a.agent_type, p.agent_type AS parent FROM agents a LEFT JOIN agents p ON p.id = a.parent_id ORDER BY a.start_time, a.rowid');
    expect(rows).toEqual([
      { agent_type: 'outer', parent: null },
      { agent_type: 'inner', parent: 'outer' },
      { agent_type: 'late', parent: null },
    ]);
    expect(new Set(query<{ s: string }>(db, 'SELECT DISTINCT service_name AS s FROM spans').map((r) => r.s))).toEqual(new Set(['one-service']));
    // Stopped with its last handle: the next createMonitor() builds a fresh one.
    const third = createMonitor({ db: join(tempDir(), 'other.db') });
    expect(third.joined).toBe(false);
    await third.shutdown();
  });
});

describe('createMonitor({ captureLlmCalls: true })', () => {
  it('captures the openai SDK calls made in an agent run, without the register hook', async () => {
    const db = join(tempDir(), 'm.db');
    const monitor = createMonitor({ db, registerGlobal: false, captureLlmCalls: true });
    const client = new OpenAI({ apiKey: 'test', baseURL: `${fake.url}/v1` });
    const agentId = await monitor.withAgent({ type: 'writer' }, async (run) => {
      await client.chat.completions.create({ model: MODELS.openai, messages: [{ role: 'user', content: 'hello' }] });
      return run.id;
    });
    await monitor.shutdown();
    // Outside any run, and after shutdown, nothing is captured.
    await client.chat.completions.create({ model: MODELS.openai, messages: [{ role: 'user', content: 'again' }] });
    const rows = query<{ agent_id: string; input_tokens: number; output_tokens: number }>(db, 'SELECT agent_id, input_tokens, output_tokens FROM telemetry');
    expect(rows).toEqual([{ agent_id: agentId, input_tokens: OPENAI_USAGE.prompt_tokens, output_tokens: OPENAI_USAGE.completion_tokens }]);
  });
});
