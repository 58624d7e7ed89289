/**
 * `agentloupe ui`: the web UI over one database file, on its own port. Read-only: it opens the
 * file read-only and can run beside a live writer (an agent, the collector).
 */
import { getRequestListener } from '@hono/node-server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MonitoringStore } from '../store/reader.js';
import { PriceTable } from '../telemetry/pricing.js';
import { createUiApp, isUiPath } from './app.js';
import type { Asset } from './assets.js';
import { isLoopbackHost, OPEN, tokenAuth, type UiAuth } from './auth.js';
import type { UiApiOptions } from './api.js';
import { DEFAULT_UI_HOST, DEFAULT_UI_PORT, UI_TOKEN_ENV_VAR } from './defaults.js';

export { DEFAULT_UI_HOST, DEFAULT_UI_PORT, UI_TOKEN_ENV_VAR };

export interface UiServerOptions {
  db: string;
  /** Default 127.0.0.1. Any other address needs `token`. */
  host?: string;
  /** Default 4319; 0 picks a free one. */
  port?: number;
  token?: string;
  assets?: Map<string, Asset>;
  checkProcesses?: boolean;
}

export interface RunningUi {
  /** `http://host:port` */
  readonly url: string;
  /** The address to open: with a token, it logs the browser in (`/?token=...`). */
  readonly openUrl: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A UI on a non-loopback address without a token: refused before anything listens. */
export class UiTokenRequiredError extends Error {
  constructor(host: string) {
    super(`refusing to serve the UI on ${host} without a token: anyone who can reach it could read the database. Pass --token (or set ${UI_TOKEN_ENV_VAR}), or use --host 127.0.0.1`);
    this.name = 'UiTokenRequiredError';
  }
}

export function uiAuthFor(host: string, token: string | undefined): UiAuth {
  if (token) return tokenAuth(token);
  if (!isLoopbackHost(host)) throw new UiTokenRequiredError(host);
  return OPEN;
}

/** A node:http handler for the UI's paths; returns false for any other path. */
export function uiRequestHandler(options: UiApiOptions & { auth: UiAuth; assets?: Map<string, Asset> }): (req: IncomingMessage, res: ServerResponse) => boolean {
  const app = createUiApp(options);
  // overrideGlobalObjects: false keeps Node's own Request/Response for the rest of the process.
  const listener = getRequestListener(app.fetch, { overrideGlobalObjects: false });
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!isUiPath(path)) return false;
    void listener(req, res);
    return true;
  };
}

export async function startUi(options: UiServerOptions): Promise<RunningUi> {
  const host = options.host ?? DEFAULT_UI_HOST;
  const auth = uiAuthFor(host, options.token);
  const store = MonitoringStore.open(options.db, { readonly: true });
  const pricing = PriceTable.fromEnv();
  let handle: ReturnType<typeof uiRequestHandler>;
  try {
    handle = uiRequestHandler({ store, auth, assets: options.assets, priceOf: (m, e) => pricing.lookup(m, e), checkProcesses: options.checkProcesses });
  } catch (err) {
    store.close();
    throw err;
  }
  const server: Server = createServer((req, res) => {
    if (!handle(req, res)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`no such page: ${req.url}\n`);
    }
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  // Longer than browsers' and undici's idle reuse, so a client never sends on a socket the
  // server is just closing (a "fetch failed" on the next request).
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_UI_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    store.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    openUrl: `${url}${auth.loginPath('/')}`,
    port: address.port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).finally(() => store.close());
      return closed;
    },
  };
}

/**
 * The UI inside the collector: the same app on the collector's port, behind the collector's
 * token. A collector on a non-loopback address with no token still receives OTLP (as before)
 * but answers the UI's paths 403 rather than show the database to anyone.
 */
export function collectorUiHandler(options: Omit<UiApiOptions, 'checkProcesses'> & { host: string; token: string | undefined }): (req: IncomingMessage, res: ServerResponse) => boolean {
  let auth: UiAuth;
  try {
    auth = uiAuthFor(options.host, options.token);
  } catch (err) {
    const message = `${(err as Error).message.replace('--token (or set AGENTLOUPE_UI_TOKEN)', '--token (or set AGENTLOUPE_COLLECTOR_TOKEN)')}\n`;
    return (req, res) => {
      if (!isUiPath((req.url ?? '/').split('?')[0]!)) return false;
      req.resume();
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end(message);
      return true;
    };
  }
  try {
    // A collector receives from other hosts: their process ids mean nothing here.
    return uiRequestHandler({ ...options, auth, checkProcesses: false });
  } catch (err) {
    const message = `${(err as Error).message}\n`;
    return (req, res) => {
      if (!isUiPath((req.url ?? '/').split('?')[0]!)) return false;
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(message);
      return true;
    };
  }
}
