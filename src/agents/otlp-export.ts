import type { Agent as HttpAgent, ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { warnOnce } from '../log.js';

/**
 * OTLP exporters that never hold the app's event loop open, and that stop knocking on an
 * endpoint that is down.
 *
 * The stock OTLP/HTTP exporter keeps the process alive while it retries (ref'd sockets and
 * backoff timers, for up to OTEL_EXPORTER_OTLP_TIMEOUT, 10 s). With an endpoint that is down
 * that delays the app's exit by ~10 s, and with a short OTEL_METRIC_EXPORT_INTERVAL a new retry
 * chain starts before the last one ends, so the app never exits at all. Here the sockets and the
 * retry timers are unref'd, and after a network failure further exports fail at once (counted)
 * until a probe gets through. Whoever must wait for an export (a flush, the exit hook) holds the
 * loop itself, for a bounded time.
 */

/** What the exporter transport looks like inside @opentelemetry/otlp-exporter-base (pinned version). */
type ExportResponse =
  | { status: 'success'; data?: Uint8Array }
  | { status: 'failure'; error: Error }
  | { status: 'retryable'; retryInMillis?: number; error?: Error };

interface Transport {
  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse>;
  shutdown(): void;
}

const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;
/** After a network failure, exports fail at once for this long (doubling to the max) before a probe. */
const FIRST_COOLDOWN_MS = 1000;
const MAX_COOLDOWN_MS = 30_000;

/** The state of one exporter's endpoint, read by the exit hook to say what was not sent. */
export class ExportGate {
  /** Exports that did not reach the endpoint. */
  failed = 0;
  lastError: string | undefined;
  /** At exit: one attempt, no retries. */
  final = false;
  private downUntil = 0;
  private cooldown = FIRST_COOLDOWN_MS;

  constructor(
    readonly signal: 'traces' | 'metrics',
    readonly url: string,
  ) {}

  get down(): boolean {
    return this.downUntil > 0;
  }

  /** True while exports should fail without trying (the endpoint failed recently). */
  shouldSkip(): boolean {
    return this.downUntil > Date.now() || (this.final && this.downUntil > 0);
  }

  markDown(error: Error | undefined): void {
    this.lastError = describe(error);
    this.downUntil = Date.now() + this.cooldown;
    this.cooldown = Math.min(this.cooldown * 2, MAX_COOLDOWN_MS);
  }

  markUp(): void {
    this.downUntil = 0;
    this.cooldown = FIRST_COOLDOWN_MS;
  }
}

function describe(error: Error | undefined): string {
  if (error === undefined) return 'no answer';
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined ? `${code}` : error.message;
}

function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The longest a caller waits for an export's first answer; the attempt goes on in the background. */
export const EARLY_ANSWER_MS = 500;
/** Export attempts in flight at once; beyond this, exports fail at once (counted). */
const MAX_IN_FLIGHT = 4;

/**
 * The stock retry policy (5 attempts, 1 s x1.5 backoff up to 5 s, within the deadline), run in
 * the background on unref'd timers. The caller (a BatchSpanProcessor or a metric reader, whose own
 * timeout timers hold the loop) hears after the first attempt, or after EARLY_ANSWER_MS when the
 * endpoint is slow to answer, whichever is first. At exit (`gate.final`) the caller waits for one
 * attempt, bounded by the exit hook's timer.
 */
class LoopFreeTransport implements Transport {
  private inFlight = 0;

  constructor(
    private readonly inner: Transport,
    private readonly gate: ExportGate,
  ) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const gate = this.gate;
    if (gate.shouldSkip()) {
      gate.failed++;
      return { status: 'failure', error: new Error(`OTLP endpoint ${gate.url} is unreachable (${gate.lastError ?? 'down'})`) };
    }
    if (this.inFlight >= MAX_IN_FLIGHT) {
      gate.failed++;
      return { status: 'failure', error: new Error(`${MAX_IN_FLIGHT} exports to ${gate.url} are still in flight`) };
    }
    let answer: (r: ExportResponse) => void = () => undefined;
    const first = new Promise<ExportResponse>((resolve) => (answer = resolve));
    const whole = this.attempts(data, timeoutMillis, answer);
    if (gate.final) return whole;
    const early = await Promise.race([first, sleepUnref(EARLY_ANSWER_MS).then(() => undefined)]);
    if (early === undefined) return { status: 'failure', error: new Error(`no answer from ${gate.url} within ${EARLY_ANSWER_MS} ms; still sending in the background`) };
    if (early.status === 'retryable') return { status: 'failure', error: early.error ?? new Error('export failed; retrying in the background') };
    return early;
  }

  private async attempts(data: Uint8Array, timeoutMillis: number, answer: (r: ExportResponse) => void): Promise<ExportResponse> {
    const gate = this.gate;
    const deadline = Date.now() + timeoutMillis;
    this.inFlight++;
    try {
      let result = await this.inner.send(data, timeoutMillis).catch((error: Error) => ({ status: 'failure' as const, error }));
      answer(result);
      let backoff = INITIAL_BACKOFF_MS;
      for (let attempt = 1; ; attempt++) {
        if (result.status === 'success') {
          gate.markUp();
          return result;
        }
        this.note(result);
        if (result.status !== 'retryable' || attempt >= MAX_ATTEMPTS || gate.final) break;
        const wait = result.retryInMillis ?? Math.min(backoff * (0.8 + Math.random() * 0.4), MAX_BACKOFF_MS);
        backoff *= 1.5;
        if (wait > deadline - Date.now()) break;
        await sleepUnref(wait);
        result = await this.inner.send(data, Math.max(1, deadline - Date.now())).catch((error: Error) => ({ status: 'failure' as const, error }));
      }
      gate.failed++;
      return result;
    } finally {
      this.inFlight--;
    }
  }

  /** A network error (no HTTP answer) means the endpoint is down; an HTTP 429/503 means it is busy. */
  private note(result: ExportResponse): void {
    if (result.status === 'retryable' && result.error !== undefined) this.gate.markDown(result.error);
    else if (result.status === 'failure') this.gate.lastError = describe(result.error);
    else if (result.status === 'retryable') this.gate.lastError = 'the endpoint is busy (retryable HTTP status)';
  }

  shutdown(): void {
    this.inner.shutdown();
  }
}

/** An http(s) agent whose sockets never keep the process alive (requests still complete while it runs). */
export async function unrefAgent(protocol: string): Promise<HttpAgent> {
  const { Agent } = (protocol === 'http:' ? await import('node:http') : await import('node:https')) as typeof import('node:http');
  const agent = new Agent({ keepAlive: true });
  const create = agent.createConnection.bind(agent);
  agent.createConnection = ((...args: Parameters<HttpAgent['createConnection']>) => {
    const socket = create(...args) as Socket | undefined;
    socket?.unref();
    return socket;
  }) as HttpAgent['createConnection'];
  // Node's agent re-refs a keep-alive socket when it reuses it.
  const internal = agent as unknown as { reuseSocket(socket: Socket, request: ClientRequest): void };
  const reuse = internal.reuseSocket.bind(agent);
  internal.reuseSocket = (socket, request) => {
    reuse(socket, request);
    socket.unref();
  };
  return agent;
}

/**
 * Swaps the retrying transport inside a stock OTLP/HTTP exporter for the loop-free one. Relies on
 * the pinned exporter version's layout (`_delegate._transport._transport`); if that changes, the
 * exporter is left as it is, with a warning, and exit stays bounded by the exit hook's timer.
 */
export function loopFree<T extends object>(exporter: T, gate: ExportGate): T {
  const delegate = (exporter as { _delegate?: { _transport?: Transport & { _transport?: Transport } } })._delegate;
  const inner = delegate?._transport?._transport;
  if (delegate === undefined || inner === undefined || typeof inner.send !== 'function') {
    warnOnce('otlp:layout', 'this version of the OTLP exporter is not the one agentloupe was built with; exports may hold the app open for up to OTEL_EXPORTER_OTLP_TIMEOUT at exit');
    return exporter;
  }
  delegate._transport = new LoopFreeTransport(inner, gate);
  return exporter;
}

/** The endpoint a signal's OTLP/HTTP exporter sends to (for messages), per the OTEL_* variables. */
export function otlpUrl(env: NodeJS.ProcessEnv, signal: 'traces' | 'metrics'): string {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim();
  if (specific) return specific;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318';
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

/**
 * The exporters a signal uses: `OTEL_<SIGNAL>_EXPORTER` when set; otherwise OTLP only when an
 * endpoint is configured for it (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`),
 * else none: with nothing configured, agentloupe is local-first and opens no socket.
 */
export function exporterNames(env: NodeJS.ProcessEnv, signal: 'traces' | 'metrics', fallback?: string): string[] {
  const explicit = env[`OTEL_${signal.toUpperCase()}_EXPORTER`];
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim();
  const names = explicit !== undefined && explicit.trim() !== '' ? explicit : endpoint ? 'otlp' : (fallback ?? 'none');
  return [
    ...new Set(
      names
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== ''),
    ),
  ];
}

/** Holds the event loop open until `work` settles (exports no longer do; see above). */
export async function holdingLoop<T>(work: Promise<T>): Promise<T> {
  const keep = setInterval(() => undefined, 1 << 30);
  try {
    return await work;
  } finally {
    clearInterval(keep);
  }
}
