/** Shared parts of the collector tests: a collector on port 0 and table dumps to compare. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { startCollector, type CollectorOptions, type RunningCollector } from '../src/collector/server.js';
import { tempDir } from './helpers.js';

const running: RunningCollector[] = [];

afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

export async function testCollector(options: CollectorOptions = {}): Promise<RunningCollector> {
  const collector = await startCollector({ port: 0, db: join(tempDir('agentloupe-collector-'), 'collector.db'), ...options });
  running.push(collector);
  return collector;
}

export type Row = Record<string, unknown>;

export function query(path: string, sql: string, ...params: unknown[]): Row[] {
  const db = new Database(path, { readonly: true });
  db.defaultSafeIntegers(true);
  try {
    return db.prepare(sql).all(...params) as Row[];
  } finally {
    db.close();
  }
}

/** Every table the mapping writes, ordered, without autoincrement ids. */
export function dumpTables(path: string): Record<string, Row[]> {
  return {
    agents: query(path, 'SELECT * FROM agents ORDER BY id'),
    agent_runs: query(path, 'SELECT * FROM agent_runs ORDER BY agent_id'),
    agent_usage: query(path, 'SELECT * FROM agent_usage ORDER BY agent_id'),
    telemetry: query(
      path,
      `SELECT t.agent_id, t.timestamp, t.input_tokens, t.output_tokens, t.cached_tokens, t.cache_creation_tokens, t.cache_read_tokens,
        t.total_tokens, t.estimated_cost, t.model, t.provider, t.tool_name, t.tool_args, t.tool_approved, t.tool_approval_type, t.engine_id,
        c.trace_id, c.span_id, c.operation, c.unpriced, c.reasoning_tokens, c.duration_ms, c.partial
       FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id ORDER BY c.trace_id, c.span_id`,
    ),
    spans: query(path, 'SELECT * FROM spans ORDER BY trace_id, span_id'),
  };
}

export async function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
