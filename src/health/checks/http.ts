import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { CheckResult, HealthCheckDefinition } from '../types.js';

export interface HttpCheckOptions {
  /** Component name, e.g. `ollama` or `provider:openai`. */
  name: string;
  url: string;
  method?: 'GET' | 'HEAD';
  /** Accepted status codes. Default: any 2xx. */
  expectStatus?: number | number[];
  /** Slower answers are degraded. Default 1000 ms. */
  degradedLatencyMs?: number;
  headers?: Record<string, string>;
  intervalMs?: number;
  /** Slower than this is unhealthy (the monitor's timeout). Default 5000 ms. */
  timeoutMs?: number;
  critical?: boolean;
  /** Turns a successful body into metadata (e.g. the models Ollama lists). Bodies are capped at 1 MB. */
  inspect?: (body: string, response: IncomingMessage) => Record<string, unknown>;
}

const MAX_BODY = 1024 * 1024;

/**
 * An HTTP endpoint (seed 004's provider health): connection errors and unexpected statuses are
 * unhealthy, slow answers degraded. No keep-alive: each probe opens a fresh connection, as a
 * user's first request after an outage would.
 */
export function httpCheck(options: HttpCheckOptions): HealthCheckDefinition {
  const degradedMs = options.degradedLatencyMs ?? 1000;
  const expected = options.expectStatus === undefined ? undefined : new Set(Array.isArray(options.expectStatus) ? options.expectStatus : [options.expectStatus]);
  const target = new URL(options.url);
  return {
    name: options.name,
    intervalMs: options.intervalMs ?? 30_000,
    timeoutMs: options.timeoutMs ?? 5000,
    critical: options.critical ?? false,
    check: (signal) =>
      new Promise<CheckResult>((resolve) => {
        const started = performance.now();
        const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
        const req = send(target, { method: options.method ?? 'GET', agent: false, headers: options.headers, signal }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_BODY) chunks.push(c);
          });
          res.on('error', (err) => resolve({ status: 'unhealthy', message: `${options.url}: ${err.message}` }));
          res.on('end', () => {
            const latencyMs = Math.round((performance.now() - started) * 10) / 10;
            const status = res.statusCode ?? 0;
            const metadata: Record<string, unknown> = { latencyMs, statusCode: status };
            const ok = expected ? expected.has(status) : status >= 200 && status < 300;
            if (!ok) {
              resolve({ status: 'unhealthy', message: `${options.url} answered ${status}, expected ${expected ? [...expected].join(' or ') : '2xx'}`, metadata });
              return;
            }
            if (options.inspect) {
              try {
                Object.assign(metadata, options.inspect(Buffer.concat(chunks).toString('utf8'), res));
              } catch (err) {
                metadata.inspectError = (err as Error).message;
              }
            }
            if (latencyMs > degradedMs) resolve({ status: 'degraded', message: `${options.url} took ${latencyMs} ms (> ${degradedMs} ms)`, metadata });
            else resolve({ status: 'healthy', metadata });
          });
        });
        req.on('error', (err) => resolve({ status: 'unhealthy', message: `${options.url}: ${err.message}` }));
        req.end();
      }),
  };
}

/** Ollama (seed 004): GET /api/tags, healthy when it answers, with the number of local models. */
export function ollamaCheck(options: Partial<Omit<HttpCheckOptions, 'url'>> & { baseUrl?: string } = {}): HealthCheckDefinition {
  const base = (options.baseUrl ?? process.env.OLLAMA_HOST ?? 'http://127.0.0.1:11434').replace(/\/+$/, '');
  return httpCheck({
    ...options,
    name: options.name ?? 'ollama',
    url: `${/^https?:\/\//.test(base) ? base : `http://${base}`}/api/tags`,
    inspect:
      options.inspect ??
      ((body) => {
        const data = JSON.parse(body) as { models?: { name?: string }[] };
        const models = Array.isArray(data.models) ? data.models : [];
        return { models: models.length, modelNames: models.slice(0, 20).map((m) => m.name ?? '?') };
      }),
  });
}
