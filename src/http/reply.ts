/**
 * The one place JSON answers are built, for every route of every server (UI API, Jaeger API,
 * health, the collector's errors). Not cached: every answer reads live data.
 */

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function jsonReply(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body, bigintSafe), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}
