/**
 * `agentloupe ui`: the web UI over one database file, on its own port. Read-only: it opens the
 * file read-only and can run beside a live writer (an agent, the collector). One Hono app:
 * the UI, and /healthz + /readyz when the process has health checks of its own.
 */
import { Hono } from 'hono';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthApp, type HealthView } from '../health/http.js';
import { listen, nodeListener, nodeRoutes, type NodeEnv } from '../http/node.js';
import { MonitoringStore } from '../store/reader.js';
import { PriceTable } from '../telemetry/pricing.js';
import { createUiApp, isUiPath, mountUi } from './app.js';
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
  /** A process's own health checks, answered at /healthz and /readyz beside the UI (`demo --serve`). */
  health?: HealthView;
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

export async function startUi(options: UiServerOptions): Promise<RunningUi> {
  const host = options.host ?? DEFAULT_UI_HOST;
  const auth = uiAuthFor(host, options.token);
  const store = MonitoringStore.open(options.db, { readonly: true });
  const pricing = PriceTable.fromEnv();
  const app = new Hono<NodeEnv>();
  try {
    if (options.health) app.route('/', healthApp(options.health));
    mountUi(app, createUiApp({ store, auth, assets: options.assets, priceOf: (m, e) => pricing.lookup(m, e), checkProcesses: options.checkProcesses }));
  } catch (err) {
    store.close();
    throw err;
  }
  app.notFound((c) => c.text(`no such page: ${c.env.incoming.url}\n`, 404));
  const server: Server = createServer(nodeListener(app));
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  // Longer than browsers' and undici's idle reuse, so a client never sends on a socket the
  // server is just closing (a "fetch failed" on the next request).
  server.keepAliveTimeout = 65_000;
  try {
    await listen(server, options.port ?? DEFAULT_UI_PORT, host);
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
export function collectorUiApp(options: Omit<UiApiOptions, 'checkProcesses'> & { host: string; token: string | undefined }): Hono {
  let auth: UiAuth;
  try {
    auth = uiAuthFor(options.host, options.token);
  } catch (err) {
    const message = `${(err as Error).message.replace('--token (or set AGENTLOUPE_UI_TOKEN)', '--token (or set AGENTLOUPE_COLLECTOR_TOKEN)')}\n`;
    return new Hono().all('*', (c) => c.text(message, 403));
  }
  try {
    // A collector receives from other hosts: their process ids mean nothing here.
    return createUiApp({ ...options, auth, checkProcesses: false });
  } catch (err) {
    const message = `${(err as Error).message}\n`;
    return new Hono().all('*', (c) => c.text(message, 503));
  }
}

/** `collectorUiApp` for a caller's own node:http server: answers the UI's paths, returns false for others. */
export function collectorUiHandler(options: Parameters<typeof collectorUiApp>[0]): (req: IncomingMessage, res: ServerResponse) => boolean {
  const ui = collectorUiApp(options);
  const app = new Hono<NodeEnv>();
  mountUi(app, ui);
  return nodeRoutes(app, isUiPath);
}
