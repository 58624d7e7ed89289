/** The optional bearer token every sender must present, compared in constant time (HTTP and gRPC alike). */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** True when no token is configured, or `authorization` is `Bearer <token>`. */
export type TokenCheck = (authorization: string | undefined) => boolean;

export function tokenCheck(token: string | undefined): TokenCheck {
  if (!token) return () => true;
  const expected = digest(token);
  return (authorization) => {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    return m !== null && timingSafeEqual(digest(m[1]!.trim()), expected);
  };
}
