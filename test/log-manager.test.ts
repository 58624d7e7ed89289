import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogManager, stripAnsi } from '../src/agents/log-manager.js';
import { tempDir } from './helpers.js';

describe('LogManager', () => {
  it('creates, appends without ANSI codes, reads, tails, lists and deletes per-agent logs', () => {
    const logs = new LogManager(join(tempDir(), 'logs'));
    const path = logs.create('dev-1');
    expect(path).toBe(join(logs.dir, 'dev-1.log'));
    logs.append('dev-1', '\u001b[1;32mok\u001b[0m line 1\n');
    logs.append('dev-1', 'line 2\n\u001b]8;;http://x\u0007link\u001b]8;;\u0007\nline 4\n');
    expect(readFileSync(path, 'utf8')).toBe('ok line 1\nline 2\nlink\nline 4\n');
    expect(logs.read('dev-1')).toBe('ok line 1\nline 2\nlink\nline 4\n');
    expect(logs.tail('dev-1', 2)).toEqual(['link', 'line 4']);
    expect(logs.tail('dev-1', 10)).toHaveLength(4);
    logs.append('dev-2', 'x');
    expect(logs.list().map((l) => l.agentId).sort()).toEqual(['dev-1', 'dev-2']);
    expect(logs.delete('dev-1')).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(logs.delete('dev-1')).toBe(false);
    expect(() => logs.read('dev-1')).toThrow(/no log file for agent dev-1/);
  });

  it('tails a log bigger than its read block', () => {
    const logs = new LogManager(tempDir());
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
    logs.append('big', `${lines.join('\n')}\n`);
    expect(logs.tail('big', 3)).toEqual(lines.slice(-3));
  });

  it('refuses ids that would leave the directory', () => {
    const logs = new LogManager(tempDir());
    expect(() => logs.create('../etc/passwd')).toThrow(/invalid agent id/);
    expect(() => logs.append('..', 'x')).toThrow(/invalid agent id/);
  });

  it('stripAnsi removes colour, cursor and OSC sequences and keeps text', () => {
    expect(stripAnsi('\u001b[31mred\u001b[0m \u001b[2K\u001b[1Gdone')).toBe('red done');
  });
});
