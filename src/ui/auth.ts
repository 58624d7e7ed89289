/**
 * Who may read the UI. On loopback with no token, anyone on this machine (as with the CLI). With
 * a token, a request needs `Authorization: Bearer <token>` or the session cookie that the URL
 * printed at start sets (`/?token=<token>`, as Jupyter does); the token then leaves the address bar.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { jsonReply } from '../http/reply.js';

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function same(a: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(a), expected);
}

export interface UiAuth {
  readonly middleware: MiddlewareHandler;
  /** The address to print: it logs a browser in once and drops the token from the address bar. */
  loginPath(path?: string): string;
}

/** No token: every request passes. */
export const OPEN: UiAuth = { middleware: async (_c, next) => next(), loginPath: (path = '/') => path };

export function tokenAuth(token: string): UiAuth {
  const expected = digest(token);
  // A per-process session secret in the cookie, never the token itself; cookies ignore ports,
  // so the name is per process too.
  const session = randomBytes(24).toString('base64url');
  const sessionDigest = digest(session);
  const cookie = `agentloupe_ui_${randomBytes(4).toString('hex')}`;
  const middleware: MiddlewareHandler = async (c, next) => {
    const given = c.req.query('token');
    if (given !== undefined && same(given, expected)) {
      setCookie(c, cookie, session, { httpOnly: true, sameSite: 'Strict', path: '/' });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 302);
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    const fromCookie = getCookie(c, cookie);
    if ((bearer !== undefined && same(bearer, expected)) || (fromCookie !== undefined && same(fromCookie, sessionDigest))) {
      return next();
    }
    c.header('www-authenticate', 'Bearer');
    if (c.req.path.startsWith('/ui/api/')) return jsonReply({ error: 'missing or wrong token: send Authorization: Bearer <token>, or open the URL printed at start' }, 401, { 'www-authenticate': 'Bearer' });
    return c.text('agentloupe UI: open the address printed when the server started (it carries ?token=...), or send Authorization: Bearer <token>.\n', 401);
  };
  return { middleware, loginPath: (path = '/') => `${path}?token=${encodeURIComponent(token)}` };
}
