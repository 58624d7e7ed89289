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

export const CLI = join(ROOT, 'dist/src/cli/main.js');

/** `agentloupe collector` in its own process on a free port; resolves once it listens. */
export async function startCollectorProcess(db: string, cwd: string, extraArgs: string[] = []): Promise<{ child: Child; url: string }> {
  const child = start(CLI, ['collector', '--port', '0', '--grpc-port', '0', '--db', db, ...extraArgs], { AGENTLOUPE_LOG: 'silent' }, cwd);
  await waitFor(child, 'listening on http');
  const url = /listening on (http:\/\/\S+)/.exec(child.stdout())![1]!;
  return { child, url };
}

const { encodeTracesProtobuf } = (await import(pathToFileURL(join(ROOT, 'dist/src/collector/otlp/index.js')).href)) as {
  encodeTracesProtobuf: (spans: unknown[]) => Uint8Array;
};

/**
 * Request number `r` of sender `s`: one agent run with `calls` model calls, every id derived from
 * (s, r), so a resend is recognisable and every stored row names the request it came from.
 */
export function otlpRequest(s: number, r: number, calls = 49): Buffer {
  // Never zero: an all-zero trace or span id is invalid in OTLP.
  const key = (s + 1) * 1_000_000 + r;
  const traceId = key.toString(16).padStart(32, '0');
  const agentSpan = (key * 1000 + 1).toString(16).padStart(16, '0');
  const agentId = `s${s}-r${r}`;
  const t0 = 1_760_000_000_000_000_000n + BigInt(key) * 1_000_000_000n;
  const resource = { 'service.name': 'fault-senders', 'process.pid': 1 };
  const spans: unknown[] = [];
  for (let i = 0; i < calls; i++) {
    spans.push({
      traceId, spanId: (key * 1000 + 2 + i).toString(16).padStart(16, '0'), parentSpanId: agentSpan, name: 'chat gpt-4o-mini', kind: 2,
      startTimeUnixNano: t0 + BigInt(i) * 1000n, endTimeUnixNano: t0 + BigInt(i) * 1000n + 500n, statusCode: 0,
      attributes: {
        'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 100 + i, 'gen_ai.usage.output_tokens': 20, 'agentloupe.owner.agent_id': agentId,
        'agentloupe.note': 'x'.repeat(300),
      },
      events: [], links: [], resource,
    });
  }
  spans.push({
    traceId, spanId: agentSpan, name: 'invoke_agent sender', kind: 0, startTimeUnixNano: t0, endTimeUnixNano: t0 + 10_000_000n, statusCode: 1,
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': agentId, 'gen_ai.agent.name': 'sender', 'agentloupe.agent.type': 'sender' },
    events: [], links: [], resource,
  });
  return Buffer.from(encodeTracesProtobuf(spans));
}

/** POSTs one OTLP/HTTP protobuf body; the status and Retry-After, or 0 when the connection failed. */
export async function post(url: string, body: Buffer): Promise<{ status: number; retryAfter: string | null }> {
  try {
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch {
    return { status: 0, retryAfter: null };
  }
}
