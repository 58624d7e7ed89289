import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/database.js';
import { prune } from '../src/store/maintenance.js';
import { MonitoringStore } from '../src/store/reader.js';
import { SCHEMA_VERSION } from '../src/store/schema.js';
import { SpanOwnerLookup } from '../src/store/span-owners.js';
import type { WriteOp } from '../src/spans/rows.js';
import { SqliteWriter } from '../src/store/writer.js';
import { createMonitor } from '../src/index.js';
import { agentRow, spanRow, telemetryRow } from './cli-fixture.js';
import { databaseAtVersion, tempDir } from './helpers.js';

// Schema 7 keys spans and model calls by a per-trace sequence number (src/store/schema.ts).
const TRACE_A = 'a'.repeat(32);
const TRACE_B = 'b'.repeat(32);
const NOW = 1_780_000_000;

/** A run, one model call and its span in `trace`; the run's own span too. */
function runOps(agentId: string, trace: string, call: string): WriteOp[] {
  return [
    { kind: 'agentStart', row: agentRow({ id: agentId, agentType: 'worker', startTime: NOW, traceId: trace, spanId: `${call}00` }) },
    { kind: 'telemetry', dedupe: true, row: telemetryRow({ agentId, timestamp: NOW, inputTokens: 100, outputTokens: 10, totalTokens: 110, traceId: trace, spanId: call }) },
    { kind: 'span', row: { ...spanRow(agentId, call, NOW, NOW + 1, 'chat'), traceId: trace, parentSpanId: `${call}00` } },
    { kind: 'span', row: { ...spanRow(agentId, `${call}00`, NOW, NOW + 2, 'invoke_agent worker'), traceId: trace } },
  ];
}

const callCount = (db: Database.Database): number => db.prepare('SELECT COUNT(*) FROM telemetry').pluck().get() as number;

describe('spans keyed by trace sequence (schema 7)', () => {
  it('migrates a version 6 file: every stored span and call is numbered by its trace, in order of first appearance, and stays findable', () => {
    const path = join(tempDir(), 'v6.db');
    const raw = databaseAtVersion(path, 6);
    // The version-6 writer's rows, through the same writer (it keys by trace id on such a file).
    const v6 = new SqliteWriter(raw);
    expect(v6.apply([...runOps('run-b', TRACE_B, '00000000000000b1'), ...runOps('run-a', TRACE_A, '00000000000000a1')]).failed).toBe(0);
    raw.close();

    const db = openDatabase(path);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT seq, trace_id FROM traces ORDER BY seq').all()).toEqual([
      { seq: 1, trace_id: TRACE_B },
      { seq: 2, trace_id: TRACE_A },
    ]);
    expect(db.prepare('SELECT COUNT(*) FROM spans s JOIN traces t ON t.trace_id = s.trace_id WHERE s.trace_seq = t.seq').pluck().get()).toBe(4);
    expect(db.prepare('SELECT COUNT(*) FROM telemetry_calls c JOIN traces t ON t.trace_id = c.trace_id WHERE c.trace_seq = t.seq').pluck().get()).toBe(2);
    expect(new MonitoringStore(db).getTrace(TRACE_A).map((s) => s.spanId)).toEqual(['00000000000000a100', '00000000000000a1']);
    expect(new SpanOwnerLookup(db).ownerOf(TRACE_B, '00000000000000b1')).toEqual({ found: true, agentId: 'run-b' });
    expect(new SpanOwnerLookup(db).ownerOf(TRACE_A, '00000000000000b1')).toEqual({ found: false });

    // A retried export of a call stored before the migration is recognised; a new trace gets the next number.
    const w = new SqliteWriter(db);
    expect(w.apply(runOps('run-a', TRACE_A, '00000000000000a1')).failed).toBe(0);
    expect(callCount(db)).toBe(2);
    expect(db.prepare('SELECT COUNT(*) FROM spans').pluck().get()).toBe(4);
    const traceC = 'c'.repeat(32);
    expect(w.apply(runOps('run-c', traceC, '00000000000000c1')).failed).toBe(0);
    expect(db.prepare('SELECT seq FROM traces WHERE trace_id = ?').pluck().get(traceC)).toBe(3);
    expect(new MonitoringStore(db).getTrace(traceC)).toHaveLength(2);
    db.close();
  });

  it('a transaction that fails takes its new trace numbers with it; the next one numbers its traces again', () => {
    const db = openDatabase(join(tempDir(), 'm.db'));
    const w = new SqliteWriter(db);
    // A call of an unknown run stored with a bad row after it: the batch fails and is retried op by op.
    const bad: WriteOp = { kind: 'span', row: { ...spanRow('run-a', 'ffffffffffffffff', NOW, NOW), traceId: TRACE_A, name: null as unknown as string } };
    const r = w.apply([...runOps('run-a', TRACE_A, '00000000000000a1'), bad]);
    expect(r).toMatchObject({ applied: 4, failed: 1 });
    expect(new MonitoringStore(db).getTrace(TRACE_A)).toHaveLength(2);
    expect(db.prepare('SELECT COUNT(*) FROM spans WHERE trace_seq IS NULL OR trace_seq NOT IN (SELECT seq FROM traces)').pluck().get()).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM telemetry_calls WHERE trace_seq IS NULL OR trace_seq NOT IN (SELECT seq FROM traces)').pluck().get()).toBe(0);
    db.close();
  });

  it('prune forgets the numbers of traces with nothing left, and never hands a number out twice', () => {
    const db = openDatabase(join(tempDir(), 'p.db'));
    const w = new SqliteWriter(db);
    const old = runOps('run-old', TRACE_A, '00000000000000a1').map((op) =>
      op.kind === 'agentStart' ? { ...op, row: { ...op.row, startTime: NOW - 100 * 86_400, status: 'completed' as const, endTime: NOW - 100 * 86_400 } } : op,
    );
    w.apply([...old, { kind: 'agentEnd', row: { ...(old[0] as { row: ReturnType<typeof agentRow> }).row }, durationMs: 1 }]);
    w.apply(runOps('run-new', TRACE_B, '00000000000000b1'));
    prune(db, NOW - 86_400);
    expect(db.prepare('SELECT trace_id FROM traces').pluck().all()).toEqual([TRACE_B]);
    w.apply(runOps('run-later', TRACE_A, '00000000000000a2'));
    expect(db.prepare('SELECT seq FROM traces WHERE trace_id = ?').pluck().get(TRACE_A)).toBe(3);
    expect(new MonitoringStore(db).getTrace(TRACE_A).map((s) => s.spanId)).toEqual(['00000000000000a200', '00000000000000a2']);
    db.close();
  });

  it("an instrumented agent on an older file: the writer thread migrates it, the agent's thread does not wait for it", async () => {
    const path = join(tempDir(), 'old.db');
    const raw = databaseAtVersion(path, 6);
    expect(new SqliteWriter(raw).apply(runOps('run-b', TRACE_B, '00000000000000b1')).failed).toBe(0);
    raw.close();
    const monitor = createMonitor({ db: path, registerGlobal: false, metricReaders: [] });
    // Still version 6 when createMonitor returns: nothing migrated on this thread.
    const peek = new Database(path, { readonly: true });
    expect(peek.pragma('user_version', { simple: true })).toBe(6);
    peek.close();
    const run = monitor.startAgent({ type: 'reviewer' });
    run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 10, outputTokens: 2 });
    run.complete();
    await monitor.shutdown();
    expect(monitor.sqlite?.stats()).toMatchObject({ dropped: 0 });
    const db = openDatabase(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT agent_type FROM agents ORDER BY agent_type').pluck().all()).toEqual(['reviewer', 'worker']);
    expect(new MonitoringStore(db).getTrace(TRACE_B)).toHaveLength(2);
    db.close();
  });
});
