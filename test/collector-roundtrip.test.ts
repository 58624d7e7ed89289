import { OTLPTraceExporter as OTLPHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMonitor, SqliteSpanProcessor } from '../src/index.js';
import { dumpTables, testCollector } from './collector-fixture.js';
import { tempDir } from './helpers.js';

/**
 * One agent swarm recorded by the real OTel SDK through two processors at once: the in-process
 * SqliteSpanProcessor (database A) and a BatchSpanProcessor with an official OTLP exporter
 * sending to the collector (database B). The collector's rows must equal the processor's.
 */
async function recordSwarm(exporter: SpanExporter, inProcessDb: string): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'roundtrip-swarm', 'process.pid': 4242 }),
    spanProcessors: [new SqliteSpanProcessor({ path: inProcessDb }), new BatchSpanProcessor(exporter, { maxExportBatchSize: 7, scheduledDelayMillis: 10 })],
  });
  const monitor = createMonitor({ tracerProvider: provider, registerGlobal: false });
  await monitor.withAgent({ type: 'architect', planId: 'REQ-7', category: 'planning', logFile: '/tmp/architect.log' }, async (architect) => {
    architect.recordUsage({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1200, outputTokens: 300, cacheReadTokens: 800, cacheCreationTokens: 100, durationMs: 40 });
    await monitor.withAgent({ type: 'developer', name: 'dev-1' }, async (dev) => {
      dev.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 500, outputTokens: 120, reasoningTokens: 20 });
      dev.recordUsage({ provider: 'openai', model: 'no-such-model-xyz', inputTokens: 5, outputTokens: 5 });
      dev.recordTool({ name: 'write_file', args: { path: 'src/a.ts', apiKey: 'sk-secret' }, approved: true, approvalType: 'user', durationMs: 3 });
      await dev.withTool({ name: 'run_tests' }, async () => 'ok');
    });
    await monitor
      .withAgent({ type: 'reviewer' }, async (reviewer) => {
        reviewer.recordTool({ name: 'lint', approved: false, approvalType: 'policy', error: new Error('denied') });
        throw new Error('review found 3 problems');
      })
      .catch(() => undefined);
    const stuck = monitor.startAgent({ type: 'watchdog-victim' });
    stuck.running();
    stuck.terminate('timed out after 30s', 137);
  });
  await provider.forceFlush();
  await provider.shutdown();
}

const cases = [
  { name: 'exporter-trace-otlp-http (JSON), plain', make: (url: string) => new OTLPHttpJsonExporter({ url }) },
  { name: 'exporter-trace-otlp-http (JSON), gzip', make: (url: string) => new OTLPHttpJsonExporter({ url, compression: 'gzip' as never }) },
  { name: 'exporter-trace-otlp-proto (protobuf), plain', make: (url: string) => new OTLPProtoExporter({ url }) },
  { name: 'exporter-trace-otlp-proto (protobuf), gzip', make: (url: string) => new OTLPProtoExporter({ url, compression: 'gzip' as never }) },
];

describe('collector round trip from the official OTel JS exporters', () => {
  for (const c of cases) {
    it(`${c.name}: the collector writes the rows the in-process processor writes`, async () => {
      const collector = await testCollector();
      const inProcess = join(tempDir(), 'in-process.db');
      await recordSwarm(c.make(`${collector.url}/v1/traces`), inProcess);
      await collector.flush();

      const expected = dumpTables(inProcess);
      const actual = dumpTables(collector.dbPath);
      // The scenario really produced something of each kind (a comparison of empty tables proves nothing).
      expect(expected.agents).toHaveLength(4);
      expect(expected.telemetry).toHaveLength(6);
      expect(expected.spans).toHaveLength(10);
      expect(expected.agents.map((a) => a.status).sort()).toEqual(["completed", "completed", "failed", "terminated"]);
      expect(actual).toEqual(expected);
      const stats = collector.stats();
      expect(stats.traces.accepted).toBe(10);
      expect(stats.traces.rejected).toBe(0);
      expect(stats.ingest.failed).toBe(0);
    });
  }

  it('a retried export does not count twice', async () => {
    const collector = await testCollector();
    const inProcess = join(tempDir(), 'in-process.db');
    // An exporter that sends every batch twice, as a client retrying after a lost response would.
    const inner = new OTLPProtoExporter({ url: `${collector.url}/v1/traces` });
    const twice: SpanExporter = {
      export: (spans, done) => inner.export(spans, () => inner.export(spans, done)),
      shutdown: () => inner.shutdown(),
      forceFlush: () => inner.forceFlush(),
    };
    await recordSwarm(twice, inProcess);
    await collector.flush();
    expect(collector.stats().traces.accepted).toBe(20);
    expect(dumpTables(collector.dbPath)).toEqual(dumpTables(inProcess));
  });
});
