import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ComponentHealth, HealthState } from './types.js';

/** What the endpoints read: a HealthMonitor's cache (no check runs on a request). */
export interface HealthView {
  getAll(): ComponentHealth[];
  overall(): HealthState;
  isReady(): boolean;
}

export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => void;

const startedAt = Date.now();

function send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'use GET' }));
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function component(c: ComponentHealth): Record<string, unknown> {
  return {
    status: c.status,
    ...(c.message ? { message: c.message } : {}),
    critical: c.critical,
    lastCheckedAt: c.lastCheckedAt === undefined ? null : new Date(c.lastCheckedAt).toISOString(),
    lastSuccessAt: c.lastSuccessAt === undefined ? null : new Date(c.lastSuccessAt).toISOString(),
    latencyMs: c.latencyMs ?? null,
    metadata: c.metadata,
  };
}

/**
 * /healthz (liveness): 200 while the process can answer at all. It does not look at
 * dependencies — restarting a process because its database is slow would not fix the database.
 */
export function livenessHandler(health: HealthView): HealthHandler {
  return (req, res) => send(req, res, 200, { status: 'ok', overall: health.overall(), pid: process.pid, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
}

/** /readyz (readiness): 200 when every critical component has reported healthy or degraded, else 503. */
export function readinessHandler(health: HealthView): HealthHandler {
  return (req, res) => {
    const ready = health.isReady();
    send(req, res, ready ? 200 : 503, {
      ready,
      status: health.overall(),
      components: Object.fromEntries(health.getAll().map((c) => [c.name, component(c)])),
    });
  };
}

/**
 * Both endpoints for mounting in an existing server: handles `/healthz` and `/readyz` (under
 * `prefix`) and returns true, or returns false for any other path.
 */
export function healthRoutes(health: HealthView, prefix = ''): (req: IncomingMessage, res: ServerResponse) => boolean {
  const live = livenessHandler(health);
  const ready = readinessHandler(health);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === `${prefix}/healthz`) return live(req, res), true;
    if (path === `${prefix}/readyz`) return ready(req, res), true;
    return false;
  };
}
