/**
 * `--forward URL`: re-exports each accepted request body, byte for byte with its content type and
 * encoding, to an upstream OTLP/HTTP endpoint (an OpenTelemetry Collector, Jaeger v2, Tempo).
 *
 * Each upstream has its own bounded queue and sends one request at a time, so order is kept and
 * a slow upstream costs one connection. Failures the OTLP spec calls retryable (connection
 * errors, 429, 502, 503, 504) are retried with exponential backoff, honouring Retry-After; other
 * answers drop the request. A full queue drops the new request. Every drop is counted; ingestion
 * into SQLite never waits on an upstream.
 */
import { warnOnce } from '../log.js';
import type { OtlpSignal } from './otlp/index.js';

export interface ForwardItem {
  signal: OtlpSignal;
  body: Uint8Array;
  contentType: string;
  contentEncoding?: string;
}

export interface ForwarderOptions {
  /** Requests held per upstream. Default 1000. */
  maxQueueSize?: number;
  /** Bytes held per upstream. Default 64 MiB. */
  maxQueueBytes?: number;
  /** First retry delay; doubles up to maxBackoffMs. Default 500 ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  /** Extra headers for every upstream request (e.g. authorization). */
  headers?: Record<string, string>;
}

export interface ForwarderStats {
  url: string;
  sent: number;
  /** Requests lost: queue full, a non-retryable answer, or still queued at shutdown. */
  dropped: number;
  retries: number;
  queued: number;
  lastError?: string;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

/** The endpoint for a signal: `--forward http://host:4318` posts to http://host:4318/v1/traces. */
export function signalUrl(base: string, signal: OtlpSignal): string {
  const trimmed = base.replace(/\/+$/, '');
  return /\/v1\/(traces|metrics|logs)$/.test(trimmed) ? trimmed.replace(/(traces|metrics|logs)$/, signal) : `${trimmed}/v1/${signal}`;
}

function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

export class Forwarder {
  private readonly queue: ForwardItem[] = [];
  private queuedBytes = 0;
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private closed = false;
  private sent = 0;
  private dropped = 0;
  private retries = 0;
  private lastError: string | undefined;
  private readonly maxQueueSize: number;
  private readonly maxQueueBytes: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private inflight: AbortController | undefined;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(readonly url: string, private readonly options: ForwarderOptions = {}) {
    const parsed = new URL(url); // throws a TypeError for a bad --forward value, before anything listens
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`--forward ${url}: only http:// and https:// upstreams are supported`);
    this.maxQueueSize = options.maxQueueSize ?? 1000;
    this.maxQueueBytes = options.maxQueueBytes ?? 64 * 1024 * 1024;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.backoffMs = this.initialBackoffMs;
  }

  /** Queues a request for the upstream. Never waits and never throws. */
  enqueue(item: ForwardItem): void {
    if (this.closed || this.queue.length >= this.maxQueueSize || this.queuedBytes + item.body.byteLength > this.maxQueueBytes) {
      this.dropped++;
      this.lastError ??= 'queue full';
      return;
    }
    this.queue.push(item);
    this.queuedBytes += item.body.byteLength;
    if (!this.sending && this.timer === undefined) void this.pump();
  }

  stats(): ForwarderStats {
    return { url: this.url, sent: this.sent, dropped: this.dropped, retries: this.retries, queued: this.queue.length, lastError: this.lastError };
  }

  /** Tries to send what is queued within `deadlineMs`; whatever is left is dropped and counted. */
  async close(deadlineMs = 2000): Promise<void> {
    if (this.closed) return;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.sending) void this.pump();
    }
    const done = new Promise<void>((resolve) => (this.queue.length === 0 && !this.sending ? resolve() : this.idleWaiters.push(resolve)));
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (deadline = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(deadline);
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.inflight?.abort();
    if (this.queue.length > 0) {
      this.dropped += this.queue.length;
      warnOnce(`forward-close:${this.url}`, `collector: ${this.queue.length} request(s) for ${this.url} were still queued at shutdown and were dropped`);
      this.queue.length = 0;
      this.queuedBytes = 0;
    }
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const item = this.queue[0]!;
        const outcome = await this.send(item);
        if (outcome === 'retry') {
          this.retries++;
          return; // the timer set by send() resumes
        }
        this.queue.shift();
        this.queuedBytes -= item.body.byteLength;
        if (outcome === 'sent') this.sent++;
        else this.dropped++;
        this.backoffMs = this.initialBackoffMs;
      }
    } finally {
      this.sending = false;
      if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async send(item: ForwardItem): Promise<'sent' | 'drop' | 'retry'> {
    const headers: Record<string, string> = { 'content-type': item.contentType, ...this.options.headers };
    if (item.contentEncoding) headers['content-encoding'] = item.contentEncoding;
    const controller = new AbortController();
    this.inflight = controller;
    const timeout = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const res = await fetch(signalUrl(this.url, item.signal), { method: 'POST', headers, body: item.body, signal: controller.signal });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'sent';
      this.lastError = `HTTP ${res.status} from ${this.url}`;
      if (RETRYABLE.has(res.status)) return this.retryLater(retryAfterMs(res.headers.get('retry-after')));
      warnOnce(`forward-status:${this.url}:${res.status}`, `collector: ${this.url} answered HTTP ${res.status}; the request was dropped`);
      return 'drop';
    } catch (err) {
      this.lastError = `${this.url}: ${(err as Error).message}`;
      warnOnce(`forward-error:${this.url}`, `collector: cannot forward to ${this.url} (${(err as Error).message}); retrying with backoff`);
      return this.closed ? 'drop' : this.retryLater(undefined);
    } finally {
      clearTimeout(timeout);
      this.inflight = undefined;
    }
  }

  private retryLater(hintMs: number | undefined): 'retry' {
    const delay = Math.min(this.maxBackoffMs, hintMs ?? this.backoffMs);
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, delay);
    this.timer.unref();
    return 'retry';
  }
}
