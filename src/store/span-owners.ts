import type { Statement } from 'better-sqlite3';
import { syntheticAgentId } from '../spans/mapping.js';
import type { SqliteDatabase } from './database.js';
import { traceSeqOf } from './schema.js';

/** What the database knows about a span the collector has not seen in this process. */
export type StoredOwner =
  | { found: false }
  /** `agentId` null: stored, but not (yet) under any agent run, or only under its trace's synthetic agent. */
  | { found: true; agentId: string | null };

/**
 * The one read the collector needs while mapping a request: which agent run owns a span that
 * arrived earlier (an earlier request, or before a restart). Indexed by (trace_seq, span_id).
 */
export class SpanOwnerLookup {
  private readonly stmt: Statement;

  constructor(db: SqliteDatabase) {
    this.stmt = db.prepare(`SELECT agent_id FROM spans WHERE trace_seq = ${traceSeqOf('?')} AND span_id = ?`);
  }

  ownerOf(traceId: string, spanId: string): StoredOwner {
    const row = this.stmt.get(traceId, spanId) as { agent_id: string | null } | undefined;
    if (!row) return { found: false };
    const id = row.agent_id;
    return { found: true, agentId: id === null || id === syntheticAgentId(traceId) ? null : id };
  }
}

/**
 * The spans that stored descendants are waiting for (`span_waits`), read once when a collector
 * starts, so a parent that arrives after a restart still re-owns the children stored before it.
 */
export function loadSpanWaits(db: SqliteDatabase, max: number): { traceId: string; spanId: string }[] {
  return db.prepare('SELECT trace_id AS traceId, span_id AS spanId FROM span_waits LIMIT ?').all(max) as { traceId: string; spanId: string }[];
}
