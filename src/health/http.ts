/**
 * /healthz and /readyz as Hono routes: the collector and `agentloupe ui` mount `healthApp` in
 * their one app; `healthRoutes`, `livenessHandler` and `readinessHandler` put the same routes in
 * a caller's own node:http server.
 */
import { Hono, type Context } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRead, nodeListener, nodeRoutes, type NodeEnv } from '../http/node.js';
import { jsonReply } from '../http/reply.js';
import type { ComponentHealth, HealthState } from './types.js';

/** What the endpoints read: a HealthMonitor's cache (no check runs on a request). */
export interface HealthView {
  getAll(): ComponentHealth[];
  overall(): HealthState;
  isReady(): boolean;
}

export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => void;

const startedAt = Date.now();

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

type Route = (c: Context<NodeEnv>) => Response;

/** GET and HEAD (Hono drops the body of a HEAD answer); any other method is 405. */
function getOnly(answer: () => Response): Route {
  return (c) => (isRead(c.req.method) ? answer() : jsonReply({ error: 'use GET' }, 405, { allow: 'GET, HEAD' }));
}

/**
 * /healthz (liveness): 200 while the process can answer at all. It does not look at
 * dependencies — restarting a process because its database is slow would not fix the database.
 */
function liveness(health: HealthView): Route {
  return getOnly(() => jsonReply({ status: 'ok', overall: health.overall(), pid: process.pid, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }));
}

/** /readyz (readiness): 200 when every critical component has reported healthy or degraded, else 503. */
function readiness(health: HealthView): Route {
  return getOnly(() => {
    const ready = health.isReady();
    return jsonReply(
      { ready, status: health.overall(), components: Object.fromEntries(health.getAll().map((c) => [c.name, component(c)])) },
      ready ? 200 : 503,
    );
  });
}

/** Both endpoints (under `prefix`) as a Hono app, for `app.route('/', healthApp(...))`. */
export function healthApp(health: HealthView, prefix = ''): Hono<NodeEnv> {
  return new Hono<NodeEnv>().all(`${prefix}/healthz`, liveness(health)).all(`${prefix}/readyz`, readiness(health));
}

/** One route answering every path: for mounting at a path of the caller's choosing. */
function anyPath(route: Route): HealthHandler {
  return nodeListener(new Hono<NodeEnv>().all('*', route));
}

export function livenessHandler(health: HealthView): HealthHandler {
  return anyPath(liveness(health));
}

export function readinessHandler(health: HealthView): HealthHandler {
  return anyPath(readiness(health));
}

/**
 * Both endpoints for mounting in an existing node:http server: handles `/healthz` and `/readyz`
 * (under `prefix`) and returns true, or returns false for any other path.
 */
export function healthRoutes(health: HealthView, prefix = ''): (req: IncomingMessage, res: ServerResponse) => boolean {
  return nodeRoutes(healthApp(health, prefix), (path) => path === `${prefix}/healthz` || path === `${prefix}/readyz`);
}
