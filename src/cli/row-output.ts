import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { RowStream, RowValue } from '../store/table-export.js';

export const ROW_FORMATS = ['json', 'ndjson', 'csv'] as const;
export type RowFormat = (typeof ROW_FORMATS)[number];

/**
 * Writes a row stream as JSON (one array), NDJSON (one object a line) or CSV (RFC 4180, header
 * first). Rows are written as they are read, in chunks, waiting for the output to drain, so a
 * million-row table needs no more memory than one chunk.
 *
 * Integers are written exactly (nanosecond times exceed 2^53) as JSON numbers; BLOBs as base64.
 */
export async function writeRows(stream: RowStream, format: RowFormat, out: Writable, options: { limit?: number } = {}): Promise<number> {
  const CHUNK = 64 * 1024;
  let buf = '';
  const flush = async (): Promise<void> => {
    if (buf === '') return;
    const text = buf;
    buf = '';
    if (!out.write(text)) await once(out, 'drain');
  };
  const keys = stream.columns.map((c) => JSON.stringify(c));
  let n = 0;
  if (format === 'csv') buf += `${stream.columns.map(csvCell).join(',')}\r\n`;
  if (format === 'json') buf += '[';
  for (const row of stream.rows) {
    if (options.limit !== undefined && n >= options.limit) break;
    if (format === 'csv') buf += `${row.map(csvCell).join(',')}\r\n`;
    else {
      const obj = `{${row.map((v, i) => `${keys[i]}:${jsonValue(v)}`).join(',')}}`;
      buf += format === 'ndjson' ? `${obj}\n` : `${n === 0 ? '\n  ' : ',\n  '}${obj}`;
    }
    n++;
    if (buf.length >= CHUNK) await flush();
  }
  // Finishing early (limit) must release the statement so the connection can close.
  stream.rows.return?.();
  if (format === 'json') buf += n === 0 ? ']\n' : '\n]\n';
  await flush();
  return n;
}

export function jsonValue(v: RowValue): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('base64'));
  return JSON.stringify(v);
}

export function csvCell(v: RowValue): string {
  if (v === null || v === undefined) return '';
  const s = Buffer.isBuffer(v) ? v.toString('base64') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** stdout, or a file that is created (or truncated). Resolves once everything is on disk. */
export async function withOutput<T>(file: string | undefined, fn: (out: Writable) => Promise<T>): Promise<T> {
  if (file === undefined) {
    // A reader that stops early (`| head`) is not an error.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
    });
    return fn(process.stdout);
  }
  const out = createWriteStream(file);
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  await Promise.race([once(out, 'open'), failed]);
  const result = await Promise.race([fn(out), failed]);
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  return result;
}
