/**
 * The one place JSON answers are built, for every route of every server (UI API, Jaeger API,
 * health, the collector's errors). Not cached: every answer reads live data.
 */
import { toJson } from '../spans/mapping.js';

export function jsonReply(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  // toJson: bigints as decimal strings, without a replacer's cost on the answers that hold none.
  return new Response(toJson(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}
