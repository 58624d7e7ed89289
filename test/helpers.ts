import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import { MIGRATIONS } from '../src/store/schema.js';

const dirs: string[] = [];

/** A fresh temporary directory, removed after the test. */
export function tempDir(prefix = 'agentloupe-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
});

/** A deterministic PRNG (mulberry32), so a failure reproduces. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A database file as an older agentloupe left it: the migrations up to `version` only (a writer on it keeps that version's layout). */
export function databaseAtVersion(path: string, version: number): Database.Database {
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) for (const sql of m.statements(false)) db.exec(sql);
  db.pragma(`user_version = ${version}`);
  db.pragma('foreign_keys = ON');
  return db;
}
