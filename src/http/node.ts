/**
 * Hono apps on Node's http server. Every server here (collector, `agentloupe ui`) is one Hono app
 * behind one Node listener; the public node adapters (healthRoutes, jaegerRoutes) mount the same
 * apps in a caller's own `createServer`.
 */
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Routes that run on Node see its request and response (for streamed bodies). */
export type NodeEnv = { Bindings: HttpBindings };

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/** A node:http listener for `app`. */
export function nodeListener(app: Hono<NodeEnv>): NodeListener {
  // overrideGlobalObjects: false keeps Node's own Request/Response for the rest of the process:
  // this is a library, and the embedding program's fetch must not change under it.
  const listener = getRequestListener(app.fetch, { overrideGlobalObjects: false });
  return (req, res) => void listener(req, res);
}

/**
 * For a caller's own server: answers the paths `owns` accepts through `app` and returns true,
 * returns false for any other path (the caller answers those).
 */
export function nodeRoutes(app: Hono<NodeEnv>, owns: (path: string) => boolean): (req: IncomingMessage, res: ServerResponse) => boolean {
  const listener = nodeListener(app);
  return (req, res) => {
    if (!owns(pathOf(req.url))) return false;
    listener(req, res);
    return true;
  };
}

/** GET or HEAD: the methods of a read (Hono answers HEAD with the GET answer's headers and no body). */
export function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** The path of a request target, without the query. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

/** Resolves once `server` listens on host:port; rejects with the listen error (EADDRINUSE...). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
