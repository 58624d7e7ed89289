import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LogManager, stripAnsi } from '../agents/log-manager.js';

export interface LogTail {
  /** The file read, or the first place looked when none exists. */
  file: string | null;
  exists: boolean;
  lines: string[];
}

/**
 * The last lines of an agent's log: the file its row names, else the log manager's
 * `<database dir>/logs/<agent-id>.log`.
 */
export function tailAgentLog(agent: { id: string; logFile: string | null }, dbPath: string, n: number): LogTail {
  const candidates = [agent.logFile, join(dirname(dbPath), 'logs', `${agent.id}.log`)].filter((p): p is string => !!p);
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    // The log manager's own files go through it; a file named by the agent elsewhere is read here.
    const lines = basename(file) === `${agent.id}.log` ? tailViaManager(file, agent.id, n) : tailFile(file, n);
    return { file, exists: true, lines: lines.map((l) => stripAnsi(l).replace(/\r$/, '')) };
  }
  return { file: candidates[0] ?? null, exists: false, lines: [] };
}

function tailViaManager(file: string, agentId: string, n: number): string[] {
  try {
    return new LogManager(dirname(file)).tail(agentId, n);
  } catch {
    return tailFile(file, n);
  }
}

/** The last `n` lines, reading at most 1 MiB back from the end. */
export function tailFile(file: string, n: number): string[] {
  if (n <= 0) return [];
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 1024 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    // A partial first line (cut by the 1 MiB window) is dropped.
    if (len < size) lines.shift();
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}
