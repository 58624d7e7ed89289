import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defaultDbPath } from '../store/database.js';

/**
 * ANSI / VT100 escape sequences: CSI (colours, cursor moves), OSC (titles, hyperlinks; ended by
 * BEL or ST) and the two-byte escapes. Log files are for reading and grepping, not replaying.
 */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]/g;

/** The text without ANSI escape codes. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export interface LogInfo {
  agentId: string;
  path: string;
  bytes: number;
  modifiedAt: Date;
}

const ID = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * Per-agent log files (`<dir>/<agent-id>.log`), ANSI codes stripped. Synchronous on purpose:
 * appends are small, and `agentloupe run` must not lose the last lines when it exits.
 */
export class LogManager {
  readonly dir: string;

  /** `dir` defaults to `logs/` next to the database (`AGENTLOUPE_DB` or `.agentloupe/monitoring.db`). */
  constructor(dir?: string) {
    this.dir = resolve(dir ?? join(dirname(defaultDbPath()), 'logs'));
  }

  /** The file for an agent (whether or not it exists). */
  pathFor(agentId: string): string {
    // The id becomes a file name: refuse anything that could leave the directory.
    if (!ID.test(agentId) || agentId === '.' || agentId === '..') {
      throw new Error(`invalid agent id for a log file: ${JSON.stringify(agentId)} (letters, digits, . _ : - only)`);
    }
    return join(this.dir, `${agentId}.log`);
  }

  /** Creates (or empties) the agent's log file and returns its path. */
  create(agentId: string): string {
    const path = this.pathFor(agentId);
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(path, '');
    return path;
  }

  /** Appends text, ANSI codes stripped; creates the file if needed. */
  append(agentId: string, text: string): void {
    const path = this.pathFor(agentId);
    if (!existsSync(this.dir)) mkdirSync(this.dir, { recursive: true });
    appendFileSync(path, stripAnsi(text));
  }

  exists(agentId: string): boolean {
    return existsSync(this.pathFor(agentId));
  }

  /** The whole log. Throws with a clear message when the agent has none. */
  read(agentId: string): string {
    const path = this.pathFor(agentId);
    if (!existsSync(path)) throw new Error(`no log file for agent ${agentId} (looked for ${path})`);
    return readFileSync(path, 'utf8');
  }

  /**
   * The last `n` lines. Reads backwards in blocks so a large log costs only what is shown.
   */
  tail(agentId: string, n = 10): string[] {
    if (n <= 0) return [];
    const path = this.pathFor(agentId);
    if (!existsSync(path)) throw new Error(`no log file for agent ${agentId} (looked for ${path})`);
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const block = 64 * 1024;
      let pos = size;
      let chunks: Buffer[] = [];
      let newlines = 0;
      while (pos > 0 && newlines <= n) {
        const len = Math.min(block, pos);
        pos -= len;
        const buf = Buffer.alloc(len);
        readSync(fd, buf, 0, len, pos);
        chunks = [buf, ...chunks];
        for (const byte of buf) if (byte === 0x0a) newlines++;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      return lines.slice(-n);
    } finally {
      closeSync(fd);
    }
  }

  /** All agent logs in the directory, newest first. */
  list(): LogInfo[] {
    if (!existsSync(this.dir)) return [];
    const out: LogInfo[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.log')) continue;
      const path = join(this.dir, name);
      try {
        const st = statSync(path);
        if (!st.isFile()) continue;
        out.push({ agentId: name.slice(0, -4), path, bytes: st.size, modifiedAt: st.mtime });
      } catch {
        // removed between readdir and stat
      }
    }
    return out.sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime());
  }

  /** Removes the agent's log; returns whether there was one. */
  delete(agentId: string): boolean {
    const path = this.pathFor(agentId);
    if (!existsSync(path)) return false;
    rmSync(path, { force: true });
    return true;
  }
}
