import Database from 'better-sqlite3';
import { context, createContextKey } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type Span as SdkSpan } from '@opentelemetry/sdk-trace-base';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMonitor, MonitoringStore, openDatabase, SqliteSpanProcessor, type Monitor } from '../src/index.js';
import { tempDir } from './helpers.js';

function setup(extra: { exporter?: InMemorySpanExporter } = {}): { monitor: Monitor; path: string } {
  const path = join(tempDir(), 'monitoring.db');
  const monitor = createMonitor({
    db: path,
    serviceName: 'test-orchestrator',
    registerGlobal: false,
    spanProcessors: extra.exporter ? [new SimpleSpanProcessor(extra.exporter)] : [],
  });
  return { monitor, path };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Row = Record<string, unknown>;
function rows(path: string, sql: string, ...params: unknown[]): Row[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as Row[];
  } finally {
    db.close();
  }
}

/** The example, verbatim in shape. */
async function runExample(monitor: Monitor): Promise<void> {
  await monitor.withAgent({ type: 'architect', planId: 'REQ-49' }, async (lead) => {
    lead.recordUsage({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1500, outputTokens: 800, cacheReadTokens: 200 });
    await Promise.all([
      monitor.withAgent({ type: 'developer' }, async (dev) => {
        await sleep(5);
        dev.recordTool({ name: 'bash', args: { cmd: 'npm test' }, approved: true, approvalType: 'policy' });
      }),
      monitor.withAgent({ type: 'reviewer' }, async () => {
        await sleep(1);
        throw new Error('lint failed');
      }).catch(() => {}),
    ]);
  });
}

describe('agent runs mirrored into SQLite', () => {
  it('stores the example: hierarchy, plan inheritance, statuses, usage and tool rows', async () => {
    const { monitor, path } = setup();
    await runExample(monitor);
    await monitor.shutdown();

    const agents = rows(path, 'SELECT * FROM agents ORDER BY agent_type');
    expect(agents.map((a) => a.agent_type)).toEqual(['architect', 'developer', 'reviewer']);
    const [architect, developer, reviewer] = agents as [Row, Row, Row];
    expect(architect.parent_id).toBeNull();
    expect(developer.parent_id).toBe(architect.id);
    expect(reviewer.parent_id).toBe(architect.id);
    for (const a of agents) expect(a.plan_id).toBe('REQ-49');
    expect(architect.status).toBe('completed');
    expect(architect.exit_code).toBe(0);
    expect(developer.status).toBe('completed');
    expect(reviewer.status).toBe('failed');
    expect(reviewer.error_message).toBe('lint failed');
    expect(reviewer.process_id).toBe(process.pid);
    for (const a of agents) {
      expect(typeof a.start_time).toBe('number');
      expect(a.end_time as number).toBeGreaterThanOrEqual(a.start_time as number);
      // epoch seconds, not milliseconds
      expect(Math.abs((a.start_time as number) - Date.now() / 1000)).toBeLessThan(60);
    }

    const usage = rows(path, 'SELECT * FROM telemetry WHERE tool_name IS NULL');
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({
      agent_id: architect.id,
      input_tokens: 1500,
      output_tokens: 800,
      cached_tokens: 200,
      cache_read_tokens: 200,
      cache_creation_tokens: 0,
      total_tokens: 2300,
      model: 'claude-sonnet-4-5',
      provider: 'anthropic',
      tool_name: null,
    });
    // claude-sonnet-4-5: $3/M input, $0.30/M cache read, $15/M output
    expect(usage[0]!.estimated_cost).toBeCloseTo((1300 * 3 + 200 * 0.3 + 800 * 15) / 1e6, 10);

    const tools = rows(path, 'SELECT * FROM telemetry WHERE tool_name IS NOT NULL');
    expect(tools).toEqual([
      expect.objectContaining({
        agent_id: developer.id,
        tool_name: 'bash',
        tool_args: '{"cmd":"npm test"}',
        tool_approved: 1,
        tool_approval_type: 'policy',
        total_tokens: 0,
        estimated_cost: 0,
      }),
    ]);
  });

  it('gets parent_id right in a three-level hierarchy across parallel async branches', async () => {
    const { monitor, path } = setup();
    await monitor.withAgent({ type: 'root', planId: 'P-1' }, async () => {
      await Promise.all(
        [0, 1, 2].map((i) =>
          monitor.withAgent({ type: `mid-${i}` }, async () => {
            await sleep(3 - i);
            await Promise.all(
              [0, 1].map((j) =>
                monitor.withAgent({ type: `leaf-${i}-${j}` }, async (leaf) => {
                  await sleep((i + j) % 3);
                  leaf.recordUsage({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 10, outputTokens: 5 });
                }),
              ),
            );
          }),
        ),
      );
    });
    await monitor.shutdown();
    const byType = new Map(rows(path, 'SELECT id, parent_id, agent_type, plan_id FROM agents').map((r) => [r.agent_type as string, r]));
    expect(byType.size).toBe(1 + 3 + 6);
    const root = byType.get('root')!;
    for (let i = 0; i < 3; i++) {
      const mid = byType.get(`mid-${i}`)!;
      expect(mid.parent_id).toBe(root.id);
      for (let j = 0; j < 2; j++) {
        const leaf = byType.get(`leaf-${i}-${j}`)!;
        expect(leaf.parent_id).toBe(mid.id);
        expect(leaf.plan_id).toBe('P-1');
        const t = rows(path, 'SELECT agent_id FROM telemetry WHERE agent_id = ?', leaf.id);
        expect(t).toHaveLength(1);
      }
    }
  });

  it('stores every status transition as it happens, and ignores illegal ones without throwing', async () => {
    const { monitor, path } = setup();
    const run = monitor.startAgent({ type: 'worker', planId: 'P-2' });
    await monitor.forceFlush();
    expect(rows(path, 'SELECT status FROM agents WHERE id = ?', run.id)).toEqual([{ status: 'starting' }]);
    run.running();
    await monitor.forceFlush();
    expect(rows(path, 'SELECT status FROM agents WHERE id = ?', run.id)).toEqual([{ status: 'running' }]);
    run.fail(new Error('boom'), 3);
    expect(() => run.complete()).not.toThrow();
    expect(() => run.running()).not.toThrow();
    expect(() => run.fail('again')).not.toThrow();
    await monitor.forceFlush();
    expect(rows(path, 'SELECT status, exit_code, error_message FROM agents WHERE id = ?', run.id)).toEqual([
      { status: 'failed', exit_code: 3, error_message: 'boom' },
    ]);

    const t = monitor.startAgent({ type: 'worker' });
    t.running();
    t.terminate('killed by operator');
    await monitor.shutdown();
    expect(rows(path, 'SELECT status, error_message FROM agents WHERE id = ?', t.id)).toEqual([{ status: 'terminated', error_message: 'killed by operator' }]);
    const usage = rows(path, 'SELECT * FROM agent_usage WHERE agent_id = ?', 'worker')[0]!;
    expect(usage).toMatchObject({ execution_count: 2, success_count: 0, failure_count: 2 });
  });

  it('aggregates agent_usage per agent name over several runs', async () => {
    const { monitor, path } = setup();
    for (let i = 0; i < 3; i++) {
      await monitor
        .withAgent({ type: 'coder', name: 'coder-bot', category: 'engineering' }, async (run) => {
          await sleep(12);
          run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 100 * (i + 1), outputTokens: 10 });
          if (i === 2) throw new Error('tests failed');
        })
        .catch(() => {});
    }
    await monitor.shutdown();
    const [u] = rows(path, 'SELECT * FROM agent_usage');
    expect(u).toMatchObject({
      agent_id: 'coder-bot',
      execution_count: 3,
      success_count: 2,
      failure_count: 1,
      total_tokens: 100 + 10 + 200 + 10 + 300 + 10,
      category: 'engineering',
    });
    expect(u!.total_duration as number).toBeGreaterThanOrEqual(3 * 10);
    expect(u!.total_duration as number).toBeLessThan(60_000);
    const lastEnd = rows(path, 'SELECT MAX(end_time) AS t FROM agents')[0]!.t;
    expect(u!.last_used_at).toBe(lastEnd);
  });

  it('exports the same tree to OTLP backends as it stores in SQLite', async () => {
    const exporter = new InMemorySpanExporter();
    const { monitor, path } = setup({ exporter });
    await runExample(monitor);
    await monitor.forceFlush();
    // read before shutdown: the in-memory exporter forgets its spans when shut down
    const spans = [...exporter.getFinishedSpans()];
    await monitor.shutdown();
    const agentSpans = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent');
    expect(agentSpans).toHaveLength(3);
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    const bySpanId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const agents = rows(path, 'SELECT a.id, a.parent_id, r.span_id, r.trace_id FROM agents a JOIN agent_runs r ON r.agent_id = a.id');
    for (const a of agents) {
      const span = bySpanId.get(a.span_id as string)!;
      expect(span.attributes['gen_ai.agent.id']).toBe(a.id);
      expect(span.spanContext().traceId).toBe(a.trace_id);
      const parentSpan = span.parentSpanContext ? bySpanId.get(span.parentSpanContext.spanId) : undefined;
      expect(parentSpan?.attributes['gen_ai.agent.id'] ?? null).toBe(a.parent_id);
    }
    // Model and tool spans are children of their agent's span, and every span is in `spans`.
    const chat = spans.find((s) => s.name === 'chat claude-sonnet-4-5')!;
    expect(bySpanId.get(chat.parentSpanContext!.spanId)!.name).toBe('invoke_agent architect');
    expect(chat.attributes['gen_ai.usage.input_tokens']).toBe(1500);
    const tool = spans.find((s) => s.name === 'execute_tool bash')!;
    expect(bySpanId.get(tool.parentSpanContext!.spanId)!.name).toBe('invoke_agent developer');
    const stored = rows(path, 'SELECT span_id, parent_span_id, name FROM spans');
    expect(stored).toHaveLength(spans.length);
    for (const s of stored) expect(bySpanId.get(s.span_id as string)?.name).toBe(s.name);
    const reviewer = agentSpans.find((s) => s.name === 'invoke_agent reviewer')!;
    expect(reviewer.status.code).toBe(2);
    expect(reviewer.events.some((e) => e.name === 'exception')).toBe(true);
  });

  it('flushes everything on shutdown without an explicit flush', async () => {
    const { monitor, path } = setup();
    const n = 500;
    await monitor.withAgent({ type: 'bulk' }, async (run) => {
      for (let i = 0; i < n; i++) run.recordUsage({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1, outputTokens: 1 });
    });
    await monitor.shutdown();
    expect(rows(path, 'SELECT COUNT(*) AS n FROM telemetry')[0]!.n).toBe(n);
    expect(rows(path, 'SELECT COUNT(*) AS n FROM spans')[0]!.n).toBe(n + 1);
    expect(monitor.sqlite!.stats()).toMatchObject({ dropped: 0, queued: 0 });
  });

  it('never throws into the agent when the database is read-only, closed or locked, and reports it', async () => {
    // a path that cannot be created (its "directory" is a file): reported, the agent unharmed
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    const bad = createMonitor({ db: join(dir, 'file', 'monitoring.db'), registerGlobal: false });
    await expect(
      bad.withAgent({ type: 'survivor' }, async (run) => {
        run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 1, outputTokens: 1 });
        return 'still running';
      }),
    ).resolves.toBe('still running');
    await bad.shutdown();
    expect(bad.sqlite!.stats().dropped).toBeGreaterThan(0);
    expect(bad.sqlite!.stats().lastError).toMatch(/cannot open/);

    // a read-only connection (as root, file modes would not stop us): writes refused, counted
    const roPath = join(dir, 'ro.db');
    openDatabase(roPath).close();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SqliteSpanProcessor({ database: new Database(roPath, { readonly: true }) })],
    });
    const ro = createMonitor({ tracerProvider: provider, registerGlobal: false });
    const roProcessor = (provider as unknown as { _activeSpanProcessor: { _spanProcessors: SqliteSpanProcessor[] } })._activeSpanProcessor._spanProcessors[0]!;
    await expect(ro.withAgent({ type: 'survivor' }, async () => 'ok')).resolves.toBe('ok');
    await provider.forceFlush();
    expect(roProcessor.stats().dropped).toBeGreaterThan(0);
    expect(roProcessor.stats().lastError).toMatch(/readonly/i);
    await provider.shutdown();

    // locked by another writer: rows wait and land once the lock is gone
    const { monitor, path: lockedPath } = setup();
    await monitor.forceFlush();
    const locker = new Database(lockedPath);
    locker.exec('BEGIN IMMEDIATE');
    await monitor.withAgent({ type: 'patient' }, async (run) => {
      run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 5, outputTokens: 5 });
    });
    await monitor.forceFlush();
    locker.exec('COMMIT');
    locker.close();
    await monitor.shutdown();
    expect(rows(lockedPath, 'SELECT status FROM agents')).toEqual([{ status: 'completed' }]);

    // closed underneath the processor: counted drops, no throw
    const closed = setup();
    const processor = closed.monitor.sqlite!;
    (processor as unknown as { queue: { closeDatabase(): void } }).queue.closeDatabase();
    await closed.monitor.withAgent({ type: 'orphan' }, async (run) => {
      run.recordTool({ name: 'noop' });
    });
    await expect(closed.monitor.shutdown()).resolves.toBeUndefined();
    expect(processor.stats().dropped).toBeGreaterThan(0);
    expect(processor.stats().lastError).toMatch(/not open|closed/i);
  });

  it('reads back through the store API', async () => {
    const { monitor, path } = setup();
    await runExample(monitor);
    await monitor.shutdown();
    const store = MonitoringStore.open(path);
    const [architect] = store.listAgents({ type: 'architect' });
    expect(store.getChildren(architect!.id).map((a) => a.agentType).sort()).toEqual(['developer', 'reviewer']);
    expect(store.getPlanAgents('REQ-49')).toHaveLength(3);
    expect(store.listAgents({ status: 'failed' }).map((a) => a.agentType)).toEqual(['reviewer']);
    expect(store.getTotalTokens(architect!.id)).toMatchObject({ input: 1500, output: 800, total: 2300, cacheRead: 200 });
    expect(store.getTotalCost(architect!.id)).toBeGreaterThan(0);
    expect(store.getTelemetrySummary('provider')).toEqual([expect.objectContaining({ key: 'anthropic', calls: 1, totalTokens: 2300 })]);
    expect(() => store.getAgent('nope')).toThrow(/no agent with id "nope"/);
    const [root] = store.tree({ planId: 'REQ-49' });
    expect(root!.agent.id).toBe(architect!.id);
    expect(root!.children).toHaveLength(2);
    expect(root!.subtree).toMatchObject({ agents: 3, tokens: 2300 });
    const trace = store.getTrace(architect!.traceId!);
    expect(trace.length).toBe(5);
    expect(trace[0]!.name).toBe('invoke_agent architect');
    store.close();
  });
});

describe('the context a model call is recorded in', () => {
  it('is the one active at that call, also after other calls from another context (the run reuses its child context only while the active one stays the same)', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const key = createContextKey('agentloupe.test.request');
      const seen: { name: string; request: unknown; parent: string | undefined }[] = [];
      const probe = {
        onStart: (span: SdkSpan, parent: import('@opentelemetry/api').Context) => seen.push({ name: span.name, request: parent.getValue(key), parent: span.parentSpanContext?.spanId }),
        onEnd: () => {},
        forceFlush: async () => {},
        shutdown: async () => {},
      };
      const monitor = createMonitor({ db: false, registerGlobal: false, metricReaders: [], spanProcessors: [probe] });
      const run = monitor.startAgent({ type: 'ctx' });
      const usage = { provider: 'openai', model: 'gpt-4o', inputTokens: 1, outputTokens: 1 };
      run.recordUsage(usage);
      run.recordUsage(usage);
      context.with(context.active().setValue(key, 'a'), () => run.recordUsage(usage));
      context.with(context.active().setValue(key, 'b'), () => {
        run.recordUsage(usage);
        run.recordUsage(usage);
      });
      run.recordUsage(usage);
      run.complete();
      await monitor.shutdown();
      const calls = seen.filter((s) => s.name.startsWith('chat'));
      expect(calls.map((c) => c.request)).toEqual([undefined, undefined, 'a', 'b', 'b', undefined]);
      expect(new Set(calls.map((c) => c.parent))).toEqual(new Set([run.span.spanContext().spanId]));
    } finally {
      context.disable();
    }
  });
});
