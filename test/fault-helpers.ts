/**
 * Shared by the fault tests: child Node processes that run the built package (as users do),
 * started together, killed with real signals, and the database they leave read back.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './register-helpers.js';

export const INDEX_URL = pathToFileURL(join(ROOT, 'dist/src/index.js')).href;

/** Writes `source` as an ES module in `dir` and returns its path. `__INDEX__` is the built package. */
export function script(dir: string, name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source.replaceAll('__INDEX__', INDEX_URL));
  return path;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A started child whose output is collected; `done` resolves when it exits. */
export interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<Finished>;
}

export function start(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, stdin: 'ignore' | 'pipe' = 'ignore'): Child {
  const proc = spawn(process.execPath, [file, ...args], { cwd, env: { ...process.env, AGENTLOUPE_LOG: '', ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<Finished>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })));
  return { proc, stdout: () => out, stderr: () => err, done };
}

/** Resolves when the child's stdout contains `marker` (rejects if it exits first or after `timeoutMs`). */
export function waitFor(child: Child, marker: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => child.stdout().includes(marker);
    if (check()) return resolve();
    const timer = setTimeout(() => reject(new Error(`no "${marker}" within ${timeoutMs} ms; stderr: ${child.stderr()}`)), timeoutMs);
    const onData = (): void => {
      if (!check()) return;
      clearTimeout(timer);
      child.proc.stdout!.off('data', onData);
      resolve();
    };
    child.proc.stdout!.on('data', onData);
    void child.done.then((f) => {
      clearTimeout(timer);
      if (!check()) reject(new Error(`exited (${f.code ?? f.signal}) before "${marker}"; stderr: ${f.stderr}`));
    });
  });
}

/** Runs one query on a fresh read connection. */
export function query<T = Record<string, unknown>>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export function integrity(path: string): string {
  const db = new Database(path);
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
