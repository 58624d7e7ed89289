/**
 * The web UI as one Hono app: the browser app's pages and assets, and its read-only JSON API.
 * `agentloupe ui` and `agentloupe collector` mount it (`mountUi`) in their own app, beside
 * health (and, in the collector, the Jaeger API and /metrics).
 */
import { Hono } from 'hono';
import type { NodeEnv } from '../http/node.js';
import { API_BASE, uiApi, type UiApiOptions } from './api.js';
import { loadAssets, type Asset } from './assets.js';
import { OPEN, type UiAuth } from './auth.js';

/**
 * No inline script, no eval, nothing from another origin. uPlot and Preact set styles through
 * the CSSOM (element.style), which style-src does not govern.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Page paths of the browser app; each answers index.html and the app routes on the client. */
const PAGE = /^\/(?:|runs|cost|sessions|health|live|sessions\/[^/]+|plan\/[^/]+|trace\/[^/]+|run\/[^/]+)$/;

export interface UiAppOptions extends UiApiOptions {
  auth?: UiAuth;
  /** Built assets; default dist/ui. */
  assets?: Map<string, Asset>;
}

/** Whether a request path belongs to the UI (pages, assets, API). */
export function isUiPath(path: string): boolean {
  return path.startsWith('/ui/') || path === '/ui' || PAGE.test(path);
}

export function createUiApp(options: UiAppOptions): Hono {
  const assets = options.assets ?? loadAssets();
  const index = assets.get('index.html')!;
  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('content-security-policy', CONTENT_SECURITY_POLICY);
    c.res.headers.set('x-content-type-options', 'nosniff');
    c.res.headers.set('referrer-policy', 'no-referrer');
    c.res.headers.set('x-frame-options', 'DENY');
  });
  app.use('*', (options.auth ?? OPEN).middleware);
  app.route(API_BASE, uiApi(options));

  const page = (): Response =>
    new Response(index.body, { headers: { 'content-type': index.type, 'cache-control': 'no-cache' } });
  app.get('/ui/*', (c) => {
    const key = c.req.path.slice('/ui/'.length);
    const asset = key === '' || key === 'index.html' ? undefined : assets.get(key);
    if (!asset) return c.text(`no such file: ${c.req.path}\n`, 404);
    return new Response(asset.body, { headers: { 'content-type': asset.type, 'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache' } });
  });
  app.get('/ui', (c) => c.redirect('/', 302));
  app.get('*', (c) => (PAGE.test(c.req.path) ? page() : c.text(`no such page: ${c.req.path}\n`, 404)));
  app.all('*', (c) => c.text('the UI is read-only: use GET\n', 405, { allow: 'GET, HEAD' }));
  return app;
}

/**
 * Hands the UI's paths to `ui` and every other path to `app`'s 404. The UI keeps its own
 * middleware (security headers, token cookie) to itself this way: mounted with `app.route`, its
 * `*` middleware would run on the parent's routes too.
 */
export function mountUi(app: Hono<NodeEnv>, ui: Hono): void {
  app.all('*', (c) => (isUiPath(c.req.path) ? ui.fetch(c.req.raw, c.env) : c.notFound()));
}
