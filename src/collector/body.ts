/**
 * Reading an OTLP request body within a byte limit. The limit applies to the bytes on the wire
 * and again to the decompressed bytes: gzip is inflated as a stream with a running count, so a
 * gzip bomb is cut off at the limit instead of being inflated into memory.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';

/** The body could not be read as sent; `status` is the HTTP answer. */
export class BodyError extends Error {
  constructor(readonly status: 400 | 413 | 415, message: string) {
    super(message);
    this.name = 'BodyError';
  }
}

/** The client went away before its body was complete: nobody is left to answer. */
export class ClientAborted extends Error {
  constructor() {
    super('the client closed the connection before sending the whole body');
    this.name = 'ClientAborted';
  }
}

/** How much of a refused body is read and thrown away so the client can read the answer. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 10_000;

/**
 * Reads and discards the rest of a body the server has already answered (413, 503): a client
 * still writing its body gets EPIPE, not the answer, if the connection is closed under it. Past
 * a bound (64 MiB or 10 s) the connection is closed anyway.
 */
export function drainPolitely(req: IncomingMessage): void {
  if (req.complete) return;
  let seen = 0;
  const cut = (): void => {
    req.off('data', onData);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, DRAIN_MAX_MS);
  timer.unref();
  const onData = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen > DRAIN_MAX_BYTES) cut();
  };
  req.on('data', onData);
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

export interface RawBody {
  /** As received (still compressed), for forwarding unchanged. */
  raw: Buffer;
  /** Decompressed, for decoding. */
  body: Buffer;
  encoding: 'gzip' | 'deflate' | undefined;
}

function encodingOf(req: IncomingMessage): 'gzip' | 'deflate' | undefined {
  const header = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (header === '' || header === 'identity') return undefined;
  if (header === 'gzip' || header === 'x-gzip') return 'gzip';
  if (header === 'deflate') return 'deflate';
  throw new BodyError(415, `Content-Encoding ${header} is not supported; send gzip or no encoding`);
}

function readRaw(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error, value?: Buffer): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      if (err) {
        reject(err);
      } else resolve(value!);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) return finish(new BodyError(413, `request body is larger than ${maxBytes} bytes (--max-body-bytes)`));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish(undefined, Buffer.concat(chunks, size)));
    req.once('error', () => finish(new ClientAborted()));
    req.once('aborted', () => finish(new ClientAborted()));
    // 'close' before 'end': the socket went away mid-body.
    req.once('close', () => finish(new ClientAborted()));
  });
}

function inflate(raw: Buffer, encoding: 'gzip' | 'deflate', maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = encoding === 'gzip' ? createGunzip() : createInflate();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    z.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        z.destroy();
        reject(new BodyError(413, `request body is larger than ${maxBytes} bytes once decompressed (--max-body-bytes)`));
        return;
      }
      chunks.push(chunk);
    });
    z.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    z.on('error', (err) => {
      if (done) return;
      done = true;
      reject(new BodyError(400, `request body is not valid ${encoding}: ${err.message}`));
    });
    z.end(raw);
  });
}

/** Reads the whole body within `maxBytes` (wire and decompressed). Throws BodyError. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<RawBody> {
  const encoding = encodingOf(req);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new BodyError(413, `request body of ${declared} bytes is larger than ${maxBytes} bytes (--max-body-bytes)`);
  }
  const raw = await readRaw(req, maxBytes);
  const body = encoding === undefined ? raw : await inflate(raw, encoding, maxBytes);
  return { raw, body, encoding };
}
