/**
 * Every command and code block in README.md and docs/*.md is run here, so the documentation
 * cannot drift from the code. The conventions (docs/README.md, "How the docs are checked"):
 *
 * - ```sh blocks run with bash (-e, pipefail) one after another in one workspace per document:
 *   a temporary project with agentloupe installed (node_modules/agentloupe, `agentloupe` and
 *   `npx agentloupe` = the built CLI), a database at .agentloupe/monitoring.db holding the demo's
 *   run plus the fixed example plan REQ-49, and OPENAI_BASE_URL, ANTHROPIC_BASE_URL,
 *   GOOGLE_GEMINI_BASE_URL and OLLAMA_HOST pointing at a local fake model server.
 * - ```ts blocks are type-checked (strict) against the built package and then run; ```js blocks
 *   are run. `file=NAME` after the language writes the block to NAME in the workspace instead of
 *   running it (a later ```sh block runs it).
 * - ```text blocks whose first line starts with `$ agentloupe` are transcripts: each command is run
 *   (stdout and stderr, 80 columns, UTC) over the fixed example database alone and its output must
 *   match the block exactly (the workspace directory written as /home/me/app). Other ```text
 *   blocks are not checked.
 * - ```json and ```yaml blocks must parse, ```promql blocks must pass promtool (where installed); ```sql blocks run (DDL on an empty database, queries
 *   read-only on the workspace database).
 * - A block that must not run (a long-lived server, Docker, another machine) is preceded by
 *   `<!-- not-run: the reason -->`; any other language, or none, fails the test.
 * - Every relative link points at an existing file, and at an existing heading when it has a #.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixedDb, CLI, ROOT } from './cli-fixture.js';
import { anchors, codeBlocks, docFiles, relativeLinks, where, type CodeBlock } from './docs-blocks.js';
import { startFakeLlmServer, type FakeLlmServer } from './fake-llm-server.js';

const FILES = docFiles(ROOT);
const RUNNABLE = new Set(['sh', 'bash', 'shell', 'ts', 'typescript', 'js', 'javascript', 'mjs', 'text', 'json', 'yaml', 'yml', 'sql', 'promql']);
// Generous: on a loaded machine a block of eight `npx agentloupe` commands takes a minute.
const BLOCK_TIMEOUT_MS = 240_000;
/** How a transcript's workspace directory is written in the docs. */
const TRANSCRIPT_HOME = '/home/me/app';

let base = '';
let docsDb = '';
let fixedDb = '';
let llm: FakeLlmServer | undefined;

function blockEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('OTEL_') || k.startsWith('AGENTLOUPE_') || k.startsWith('npm_') || k === 'NODE_OPTIONS' || k === 'FORCE_COLOR') continue;
    if (k === 'VITEST' || k.startsWith('VITEST_') || k === 'TEST' || k === 'NODE_ENV') continue;
    env[k] = v;
  }
  Object.assign(env, {
    NO_COLOR: '1',
    TZ: 'UTC',
    COLUMNS: '80',
    AGENTLOUPE_LOG: undefined,
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    OPENAI_API_KEY: 'sk-docs-test',
    OPENAI_BASE_URL: `${llm!.url}/v1`,
    ANTHROPIC_API_KEY: 'sk-ant-docs-test',
    ANTHROPIC_BASE_URL: llm!.url,
    GEMINI_API_KEY: 'docs-test',
    GOOGLE_GEMINI_BASE_URL: llm!.url,
    OLLAMA_HOST: llm!.url,
  });
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

/** A user's project with agentloupe installed from this checkout, and a database in it. */
function workspace(name: string, db: string): string {
  const dir = mkdtempSync(join(base, `${name.replace(/[^a-z0-9]+/gi, '-')}-`));
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry === '.bin' || entry.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  symlinkSync(ROOT, join(modules, 'agentloupe'));
  writeFileSync(join(modules, '.bin', 'agentloupe'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'my-agents', private: true, type: 'module', dependencies: { agentloupe: '*' } }, null, 2)}\n`);
  mkdirSync(join(dir, '.agentloupe'));
  copyFileSync(db, join(dir, '.agentloupe', 'monitoring.db'));
  return dir;
}

/**
 * Runs a command in a workspace. Asynchronous on purpose: the fake model server lives in this
 * process, and a synchronous spawn would stop it from answering the command it serves.
 */
async function run(cmd: string, args: string[], cwd: string, input?: string): Promise<{ status: number | null; out: string; err: string }> {
  const env = blockEnv();
  env.PATH = `${join(cwd, 'node_modules', '.bin')}:${dirname(process.execPath)}:${env.PATH ?? ''}`;
  const child = spawn(cmd, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin.end(input ?? '');
  const timer = setTimeout(() => {
    err += `\n(killed after ${BLOCK_TIMEOUT_MS} ms)`;
    try {
      process.kill(-child.pid!, 'SIGKILL'); // the block's whole process group, background jobs included
    } catch {
      // already gone
    }
  }, BLOCK_TIMEOUT_MS);
  const status = await new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      err += String(e);
      resolve(null);
    });
    child.on('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  return { status, out, err };
}

function failure(b: CodeBlock, what: string, r: { status: number | null; out: string; err: string }): string {
  return `${where(b)} (${b.lang}) ${what}: exit ${r.status}\n--- block ---\n${b.code}--- stdout ---\n${r.out}--- stderr ---\n${r.err}`;
}

function transpiled(b: CodeBlock): string {
  return ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

/** Type-checks every ts block of every document in one program, as a user's project would. */
function typeCheck(blocks: CodeBlock[]): string[] {
  const dir = workspace('typecheck', docsDb);
  const names = new Map<string, CodeBlock>();
  blocks.forEach((b, i) => {
    const name = join(dir, `block-${i}.ts`);
    // export {} keeps each block a module of its own (top-level await, no shared globals).
    writeFileSync(name, `${b.code}\nexport {};\n`);
    names.set(name, b);
  });
  const program = ts.createProgram([...names.keys()], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    skipLibCheck: true,
    esModuleInterop: true,
  });
  return ts.getPreEmitDiagnostics(program).flatMap((d) => {
    const b = d.file ? names.get(resolve(d.file.fileName)) : undefined;
    if (d.file && !b) return []; // only problems in the blocks themselves
    const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const at = b ? `${b.file}:${b.line + 1 + (pos?.line ?? 0)}` : 'tsc';
    return [`${at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`];
  });
}

/** `$ agentloupe ...` lines and the output each must print. */
function transcript(code: string): { command: string; expected: string }[] {
  const steps: { command: string; expected: string[] }[] = [];
  for (const line of code.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
    else steps.at(-1)?.expected.push(line);
  }
  return steps.map((s) => ({ command: s.command, expected: normalize(s.expected.join('\n')) }));
}

function normalize(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n')
    .replace(/^\n+|\n+$/g, '');
}

async function runBlock(b: CodeBlock, dir: string, transcriptDir: string): Promise<void> {
  const name = `block-${b.line}`;
  switch (b.lang) {
    case 'sh':
    case 'bash':
    case 'shell': {
      const r = await run('bash', ['-euo', 'pipefail', '-s'], dir, b.code);
      expect(r.status, failure(b, 'failed', r)).toBe(0);
      return;
    }
    case 'ts':
    case 'typescript':
    case 'js':
    case 'javascript':
    case 'mjs': {
      const js = b.lang.startsWith('t') ? transpiled(b) : b.code;
      if (b.fileName !== undefined) {
        mkdirSync(dirname(join(dir, b.fileName)), { recursive: true });
        writeFileSync(join(dir, b.fileName), b.lang.startsWith('t') && !b.fileName.endsWith('.ts') ? js : b.code);
        return;
      }
      writeFileSync(join(dir, `${name}.mjs`), js);
      const r = await run(process.execPath, [`${name}.mjs`], dir);
      expect(r.status, failure(b, 'failed', r)).toBe(0);
      return;
    }
    case 'json':
      expect(() => JSON.parse(b.code), `${where(b)}: not valid JSON`).not.toThrow();
      if (b.fileName !== undefined) writeFileSync(join(dir, b.fileName), b.code);
      return;
    case 'yaml':
    case 'yml':
      expect(() => parseYaml(b.code), `${where(b)}: not valid YAML`).not.toThrow();
      if (b.fileName !== undefined) writeFileSync(join(dir, b.fileName), b.code);
      return;
    case 'sql': {
      if (/^\s*(--[^\n]*\n\s*)*CREATE\s/i.test(b.code)) {
        const empty = new Database(':memory:');
        try {
          expect(() => empty.exec(b.code), `${where(b)}: the DDL does not run on an empty database`).not.toThrow();
        } finally {
          empty.close();
        }
      } else {
        const db = new Database(join(dir, '.agentloupe', 'monitoring.db'), { readonly: true });
        try {
          expect(() => db.prepare(b.code).all(), `${where(b)}: the query does not run on the docs database`).not.toThrow();
        } finally {
          db.close();
        }
      }
      return;
    }
    case 'promql': {
      // Each expression becomes a recording rule; promtool parses them (skipped where it is missing).
      const exprs = b.code.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
      const rules = { groups: [{ name: 'docs', rules: exprs.map((expr, i) => ({ record: `docs:expr_${i}`, expr })) }] };
      writeFileSync(join(dir, `${name}.rules.json`), JSON.stringify(rules));
      const r = await run('sh', ['-c', `command -v promtool >/dev/null || exit 0; promtool check rules ${name}.rules.json`], dir);
      expect(r.status, failure(b, 'is not valid PromQL', r)).toBe(0);
      return;
    }
    case 'text': {
      if (!/^\$ agentloupe /.test(b.code)) return; // a sample, not checked
      for (const step of transcript(b.code)) {
        const r = await run('bash', ['-c', `${step.command} 2>&1`], transcriptDir);
        expect(normalize(r.out.split(transcriptDir).join(TRANSCRIPT_HOME)), `${where(b)}: \`${step.command}\` printed something else (exit ${r.status}; stderr ${r.err})`).toBe(step.expected);
      }
      return;
    }
    default:
      throw new Error(`${where(b)}: a \`\`\`${b.lang || '(no language)'} block: use sh, ts, js, json, yaml, sql, promql or text, or put <!-- not-run: why --> above it`);
  }
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with npx tsc -p tsconfig.json`);
  base = mkdtempSync(join(tmpdir(), 'agentloupe-docs-'));
  llm = await startFakeLlmServer();
  // The database a reader has after `npm run demo`, plus the fixed example plan REQ-49.
  const demoDir = join(base, 'demo');
  mkdirSync(demoDir);
  const demo = await run(process.execPath, [join(ROOT, 'examples', 'demo.mjs')], demoDir);
  if (demo.status !== 0) throw new Error(`the demo failed: ${demo.err}`);
  docsDb = join(demoDir, '.agentloupe', 'monitoring.db');
  buildFixedDb(docsDb);
  fixedDb = join(base, 'fixed.db');
  buildFixedDb(fixedDb);
}, 120_000);

afterAll(async () => {
  await llm?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('the documentation', () => {
  it('names a language for every block and a reason for every block that does not run', () => {
    const problems: string[] = [];
    for (const file of FILES) {
      for (const b of codeBlocks(ROOT, file)) {
        if (b.notRun !== undefined) {
          if (b.notRun.trim() === '') problems.push(`${where(b)}: <!-- not-run: --> needs a reason`);
          continue;
        }
        if (!RUNNABLE.has(b.lang)) problems.push(`${where(b)}: \`\`\`${b.lang || '(no language)'}: use sh, ts, js, json, yaml, sql, promql or text, or <!-- not-run: why -->`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('type-checks every TypeScript block against the built package', () => {
    const blocks = FILES.flatMap((f) => codeBlocks(ROOT, f))// A not-run block may show an internal module the package does not export: not checked.
      .filter((b) => (b.lang === 'ts' || b.lang === 'typescript') && b.notRun === undefined);
    expect(typeCheck(blocks)).toEqual([]);
  }, 120_000);

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const file of FILES) {
      for (const link of relativeLinks(ROOT, file)) {
        const [path, hash] = link.target.split('#') as [string, string | undefined];
        const target = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path));
        if (!existsSync(target)) {
          broken.push(`${where(link)}: ${link.target} (no such file)`);
          continue;
        }
        if (hash !== undefined && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(hash)) {
          broken.push(`${where(link)}: ${link.target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  describe.each(FILES)('%s', (file) => {
    it('runs every block', async () => {
      const dir = workspace(file, docsDb);
      const transcriptDir = workspace(`${file}-transcript`, fixedDb);
      for (const b of codeBlocks(ROOT, file)) {
        if (b.notRun !== undefined) continue;
        await runBlock(b, dir, transcriptDir);
      }
    }, 900_000);
  });
});
