import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/store/database.js';
import type { AgentRow, AgentStatus, SpanRow, TelemetryRow, WriteOp } from '../src/spans/rows.js';
import { SqliteWriter } from '../src/store/writer.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'dist/src/cli/main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would, with a stable environment (no colour, UTC, 80 columns). */
export function cli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): CliResult {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with npx tsc -p tsconfig.json`);
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', TZ: 'UTC', COLUMNS: '80', AGENTLOUPE_DB: undefined, FORCE_COLOR: undefined };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k === 'AGENTLOUPE_PRICING') delete env[k];
  Object.assign(env, options.env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** 2026-05-28 20:26:40 UTC: every time in the fixed database is an offset from it. */
export const T0 = 1_780_000_000;
const NS = 1_000_000_000n;

export function agentRow(p: Partial<AgentRow> & { id: string; agentType: string; startTime: number }): AgentRow {
  return {
    parentId: null,
    planId: null,
    status: 'running',
    processId: 4242,
    endTime: null,
    exitCode: null,
    errorMessage: null,
    logFile: null,
    name: p.agentType,
    category: null,
    traceId: 'a'.repeat(32),
    spanId: null,
    serviceName: 'fixture',
    startNs: BigInt(p.startTime) * NS,
    endNs: p.endTime != null ? BigInt(p.endTime) * NS : null,
    ...p,
  };
}

export function telemetryRow(p: Partial<TelemetryRow> & { agentId: string; timestamp: number }): TelemetryRow {
  const input = p.inputTokens ?? 0;
  const output = p.outputTokens ?? 0;
  return {
    inputTokens: input,
    outputTokens: output,
    cachedTokens: p.cacheReadTokens ?? 0,
    cacheCreationTokens: 0,
    cacheReadTokens: 0,
    totalTokens: input + output,
    estimatedCost: 0,
    model: null,
    provider: null,
    toolName: null,
    toolArgs: null,
    toolApproved: null,
    toolApprovalType: null,
    engineId: null,
    traceId: null,
    spanId: null,
    operation: p.toolName ? 'execute_tool' : 'chat',
    unpriced: false,
    reasoningTokens: 0,
    durationMs: null,
    partial: false,
    ...p,
  };
}

export function spanRow(agentId: string | null, spanId: string, startS: number, endS: number, name = 'span'): SpanRow {
  return {
    traceId: 'a'.repeat(32),
    spanId,
    parentSpanId: null,
    name,
    kind: 0,
    startNs: BigInt(startS) * NS,
    endNs: BigInt(endS) * NS,
    durationNs: BigInt(endS - startS) * NS,
    statusCode: 0,
    statusMessage: null,
    serviceName: 'fixture',
    scopeName: 'fixture',
    agentId,
    attributes: '{}',
    events: '[]',
    links: '[]',
    resource: '{}',
  };
}

/** Writes rows through the real writer (the same path the span processor takes). */
export function writeOps(path: string, ops: WriteOp[]): void {
  const db = openDatabase(path);
  try {
    const r = new SqliteWriter(db).apply(ops);
    if (r.failed > 0) throw r.error ?? new Error(`${r.failed} ops failed`);
  } finally {
    db.close();
  }
}

function end(row: AgentRow, status: AgentStatus, endTime: number, extra: Partial<AgentRow> = {}): WriteOp {
  const ended = { ...row, status, endTime, endNs: BigInt(endTime) * NS, ...extra };
  return { kind: 'agentEnd', row: ended, durationMs: (endTime - row.startTime) * 1000 };
}

/**
 * The fixed-clock database of the snapshot tests: one plan (architect -> developer, reviewer),
 * a running agent without a plan, model calls (one unpriced) and approved / denied tool calls.
 */
export function buildFixedDb(path: string, logFile?: string): void {
  const architect = agentRow({ id: 'architect-0001', agentType: 'architect', planId: 'REQ-49', startTime: T0, logFile: logFile ?? null });
  const developer = agentRow({ id: 'developer-0002', agentType: 'developer', planId: 'REQ-49', parentId: 'architect-0001', startTime: T0 + 10 });
  const reviewer = agentRow({ id: 'reviewer-0003', agentType: 'reviewer', planId: 'REQ-49', parentId: 'architect-0001', startTime: T0 + 140 });
  const solo = agentRow({ id: 'solo-0004', agentType: 'researcher', startTime: T0 + 3600 });
  writeOps(path, [
    { kind: 'agentStart', row: architect },
    { kind: 'agentStart', row: developer },
    { kind: 'agentStart', row: reviewer },
    { kind: 'agentStart', row: solo },
    {
      kind: 'telemetry',
      dedupe: false,
      row: telemetryRow({ agentId: 'architect-0001', timestamp: T0 + 5, provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1500, outputTokens: 800, cacheReadTokens: 200, cachedTokens: 200, estimatedCost: 0.01596, durationMs: 2300 }),
    },
    {
      kind: 'telemetry',
      dedupe: false,
      row: telemetryRow({ agentId: 'developer-0002', timestamp: T0 + 20, provider: 'openai', model: 'gpt-4o', inputTokens: 12000, outputTokens: 3400, estimatedCost: 0.064, durationMs: 5100 }),
    },
    {
      kind: 'telemetry',
      dedupe: false,
      row: telemetryRow({ agentId: 'developer-0002', timestamp: T0 + 30, toolName: 'bash', toolArgs: '{"cmd":"npm test"}', toolApproved: true, toolApprovalType: 'policy', durationMs: 1500 }),
    },
    {
      kind: 'telemetry',
      dedupe: false,
      row: telemetryRow({ agentId: 'developer-0002', timestamp: T0 + 40, toolName: 'write_file', toolArgs: '{"path":"src/a.ts"}', toolApproved: true, toolApprovalType: 'user', durationMs: 20 }),
    },
    {
      kind: 'telemetry',
      dedupe: false,
      row: telemetryRow({ agentId: 'reviewer-0003', timestamp: T0 + 145, toolName: 'bash', toolArgs: '{"cmd":"rm -rf build"}', toolApproved: false, toolApprovalType: 'user', durationMs: 500 }),
    },
    {
      kind: 'telemetry',
      dedupe: false,
      row: telemetryRow({ agentId: 'reviewer-0003', timestamp: T0 + 146, provider: 'acme', model: 'mystery-1', inputTokens: 100, outputTokens: 50, unpriced: true }),
    },
    end(developer, 'completed', T0 + 130, { exitCode: 0 }),
    end(reviewer, 'failed', T0 + 150, { exitCode: 1, errorMessage: 'lint failed: 3 errors' }),
    end(architect, 'completed', T0 + 192, { exitCode: 0 }),
    { kind: 'span', row: spanRow('architect-0001', '0000000000000001', T0, T0 + 192, 'invoke_agent architect') },
    { kind: 'span', row: spanRow('developer-0002', '0000000000000002', T0 + 10, T0 + 130, 'invoke_agent developer') },
    { kind: 'span', row: spanRow('reviewer-0003', '0000000000000003', T0 + 140, T0 + 150, 'invoke_agent reviewer') },
  ]);
}
