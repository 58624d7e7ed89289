import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, StoreError } from '../src/store/database.js';
import { SCHEMA_VERSION } from '../src/store/schema.js';
import { tempDir } from './helpers.js';

const seed = readFileSync(new URL('./fixtures/seed-000-monitoring-architecture.md', import.meta.url), 'utf8');

function documentedDdl(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of seed.matchAll(/```sql\n([\s\S]*?)```/g)) {
    const sql = m[1]!.trim().replace(/;$/, '');
    const name = /CREATE TABLE (\w+)/.exec(sql)![1]!;
    out.set(name, sql);
  }
  return out;
}

function documentedIndexNames(): string[] {
  return [...seed.matchAll(/- `(idx_\w+)`/g)].map((m) => m[1]!);
}

const norm = (sql: string): string => sql.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').trim();

describe('schema', () => {
  it('creates the documented tables exactly as documented, with every named index', () => {
    const path = join(tempDir(), 'monitoring.db');
    const db = openDatabase(path);
    const docs = documentedDdl();
    expect([...docs.keys()].sort()).toEqual(['agent_usage', 'agents', 'telemetry']);
    for (const [name, ddl] of docs) {
      const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) as { sql: string };
      expect(norm(row.sql)).toBe(norm(ddl));
    }
    const indexNames = documentedIndexNames();
    expect(indexNames).toHaveLength(7);
    const indexes = db.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'").all() as { name: string; tbl_name: string }[];
    for (const name of indexNames) expect(indexes.map((i) => i.name)).toContain(name);
    // Each documented index serves the query its name promises.
    const cols = (idx: string): string[] => (db.prepare(`PRAGMA index_info(${idx})`).all() as { name: string }[]).map((c) => c.name);
    expect(cols('idx_agents_parent')).toEqual(['parent_id']);
    expect(cols('idx_agents_plan')).toEqual(['plan_id']);
    expect(cols('idx_agents_status')).toEqual(['status']);
    expect(cols('idx_telemetry_agent')).toEqual(['agent_id']);
    expect(cols('idx_telemetry_timestamp')).toEqual(['timestamp']);
    expect(cols('idx_agent_usage_category')).toEqual(['category']);
    expect(cols('idx_agent_usage_last_used')).toEqual(['last_used_at']);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('adopts a database that already has the documented tables (written by another tool), keeping its rows', () => {
    const path = join(tempDir(), 'radium.db');
    const raw = new Database(path);
    for (const ddl of documentedDdl().values()) raw.exec(ddl);
    raw.prepare("INSERT INTO agents (id, agent_type, status, start_time) VALUES ('a1', 'developer', 'completed', 1700000000)").run();
    raw.close();
    const db = openDatabase(path);
    expect(db.prepare('SELECT agent_type FROM agents WHERE id = ?').get('a1')).toEqual({ agent_type: 'developer' });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'idx_agents_plan'").get()).toEqual({ n: 1 });
    db.close();
  });

  it('refuses a foreign SQLite file and a newer schema with messages that say what to do', () => {
    const dir = tempDir();
    const foreign = join(dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    f.close();
    expect(() => openDatabase(foreign)).toThrow(StoreError);
    expect(() => openDatabase(foreign)).toThrow(/not an agentloupe one/);
    // The foreign file is untouched.
    const again = new Database(foreign);
    expect(again.pragma('user_version', { simple: true })).toBe(0);
    expect((again.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type='table'").get() as { n: number }).n).toBe(1);
    again.close();

    const newer = join(dir, 'newer.db');
    openDatabase(newer).close();
    const n = new Database(newer);
    n.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    n.close();
    expect(() => openDatabase(newer)).toThrow(/newer agentloupe/);
    expect(() => openDatabase(join(dir, 'missing.db'), { readonly: true })).toThrow(/no agentloupe database/);
  });
});
