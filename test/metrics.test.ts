import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMonitor } from '../src/index.js';
import { tempDir } from './helpers.js';
import { parseExposition, type Sample } from './prometheus-text.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A Prometheus exporter mounted on our own server (the "existing server" case). */
async function mountedExporter(): Promise<{ exporter: PrometheusExporter; url: string }> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const server = createServer((req, res) => {
    if (req.url === '/metrics') exporter.getMetricsRequestHandler(req, res);
    else res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { exporter, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics` };
}


function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe('metric instruments', () => {
  it('exposes every documented metric on a Prometheus endpoint, with values matching the run', async () => {
    const { exporter, url } = await mountedExporter();
    const monitor = createMonitor({ db: join(tempDir(), 'm.db'), registerGlobal: false, metricReaders: [exporter] });
    await monitor.withAgent({ type: 'planner', name: 'planner' }, async (planner) => {
      // A record is never back-dated before its run's start: the run lives longer than the durations given.
      await new Promise((r) => setTimeout(r, 160));
      planner.recordUsage({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1500, outputTokens: 800, cacheReadTokens: 200, cacheCreationTokens: 100, durationMs: 120 });
      planner.recordUsage({ provider: 'openai', model: 'o4-mini', inputTokens: 100, outputTokens: 300, reasoningTokens: 256, durationMs: 30 });
      planner.recordUsage({ provider: 'acme', model: 'mystery-1', inputTokens: 10, outputTokens: 10 });
      planner.recordTool({ name: 'bash', approved: true, approvalType: 'policy', durationMs: 50 });
      planner.recordTool({ name: 'git_push', approved: false, approvalType: 'user' });
      await monitor.withAgent({ type: 'reviewer' }, async () => {
        throw new Error('lint failed');
      }).catch(() => {});
    });
    const live = monitor.startAgent({ type: 'watcher' });
    await monitor.forceFlush();

    const text = await (await fetch(url)).text();
    const samples = parseExposition(text);

    // GenAI semantic-convention histograms
    expect(find(samples, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: 'input', gen_ai_provider_name: 'anthropic', gen_ai_request_model: 'claude-sonnet-4-5', gen_ai_operation_name: 'chat' })[0]?.value).toBe(1500);
    expect(find(samples, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: 'output', gen_ai_provider_name: 'openai' })[0]?.value).toBe(300);
    expect(find(samples, 'gen_ai_client_token_usage_bucket', { gen_ai_token_type: 'input', le: '1024' })).not.toHaveLength(0);
    expect(find(samples, 'gen_ai_client_operation_duration_sum', { gen_ai_provider_name: 'anthropic' })[0]?.value).toBeCloseTo(0.12, 5);
    expect(find(samples, 'gen_ai_client_operation_duration_bucket', { le: '0.16', gen_ai_provider_name: 'anthropic' })[0]?.value).toBe(1);

    // token counters by kind, cost, unpriced
    const tok = (kind: string, provider: string): number | undefined =>
      find(samples, 'agentloupe_tokens_total', { agentloupe_token_kind: kind, gen_ai_provider_name: provider, gen_ai_agent_name: 'planner' })[0]?.value;
    expect(tok('input', 'anthropic')).toBe(1500);
    expect(tok('cache_read', 'anthropic')).toBe(200);
    expect(tok('cache_write', 'anthropic')).toBe(100);
    expect(tok('output', 'anthropic')).toBe(800);
    expect(tok('reasoning', 'openai')).toBe(256);
    // claude-sonnet-4-5: 1200 uncached x $3 + 200 x $0.30 + 100 x $3.75 + 800 x $15, per million
    expect(find(samples, 'agentloupe_cost_usd_total', { gen_ai_provider_name: 'anthropic' })[0]?.value).toBeCloseTo((1200 * 3 + 200 * 0.3 + 100 * 3.75 + 800 * 15) / 1e6, 9);
    expect(find(samples, 'agentloupe_calls_unpriced_total', { gen_ai_request_model: 'mystery-1' })[0]?.value).toBe(1);
    expect(find(samples, 'agentloupe_cost_usd_total', { gen_ai_request_model: 'mystery-1' })).toHaveLength(0);

    // agent runs, durations, active agents, tools
    expect(find(samples, 'agentloupe_agent_runs_total', { gen_ai_agent_name: 'planner', agentloupe_status: 'completed' })[0]?.value).toBe(1);
    expect(find(samples, 'agentloupe_agent_runs_total', { gen_ai_agent_name: 'reviewer', agentloupe_status: 'failed' })[0]?.value).toBe(1);
    expect(find(samples, 'agentloupe_agent_duration_count', { gen_ai_agent_name: 'planner' })[0]?.value).toBe(1);
    expect(find(samples, 'agentloupe_agents_active', { gen_ai_agent_name: 'watcher' })[0]?.value).toBe(1);
    expect(find(samples, 'agentloupe_agents_active', { gen_ai_agent_name: 'planner' })[0]?.value).toBe(0);
    expect(find(samples, 'agentloupe_tool_calls_total', { gen_ai_tool_name: 'bash', agentloupe_tool_approval: 'approved', agentloupe_status: 'ok' })[0]?.value).toBe(1);
    expect(find(samples, 'agentloupe_tool_calls_total', { gen_ai_tool_name: 'git_push', agentloupe_tool_approval: 'denied' })[0]?.value).toBe(1);
    expect(find(samples, 'agentloupe_tool_duration_sum', { gen_ai_tool_name: 'bash' })[0]?.value).toBeCloseTo(0.05, 5);

    // low-cardinality labels only: never ids, plans or prompts
    const allowed = new Set([
      'le', 'gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model', 'gen_ai_token_type',
      'error_type', 'gen_ai_agent_name', 'agentloupe_agent_type', 'agentloupe_status', 'agentloupe_token_kind', 'gen_ai_tool_name',
      'agentloupe_tool_approval', 'otel_scope_name', 'otel_scope_version', 'otel_scope_schema_url', 'service_name', 'job', 'instance',
    ]);
    for (const s of samples.filter((x) => x.name !== 'target_info')) for (const key of Object.keys(s.labels)) expect(allowed, `label ${key} on ${s.name}`).toContain(key);

    const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (promtool.error) {
      console.warn('promtool not found (Debian package `prometheus`); skipping `promtool check metrics`');
    } else {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.stderr + check.stdout).toBe('');
      expect(check.status).toBe(0);
    }
    live.complete();
    await monitor.shutdown();
  });
});
