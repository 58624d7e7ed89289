import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PostResult {
  ok: boolean;
  status?: number;
  error?: string;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs a JSON body; resolves (never rejects) with the outcome. No keep-alive agent: an alert
 * is rare, and an idle pooled socket must not hold the process open.
 */
export function postJson(url: string, body: unknown, options: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<PostResult> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ ok: false, error: `not a URL: ${url}` });
      return;
    }
    const payload = Buffer.from(JSON.stringify(body));
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      {
        method: 'POST',
        agent: false,
        timeout: options.timeoutMs ?? 5000,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, 'user-agent': 'agentloupe', ...options.headers },
      },
      (res) => {
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('close', () => {
          const status = res.statusCode ?? 0;
          resolve(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 5000} ms`)));
    req.on('error', (err) => resolve({ ok: false, error: err.message }));
    req.end(payload);
  });
}
