/**
 * The one clock of every span agentloupe starts or ends: epoch milliseconds with sub-millisecond
 * precision. The OTel SDK's own default start is `Date.now()` (whole milliseconds) while its
 * default end adds a `performance` duration, so a child could appear to start before a parent
 * that began in the same millisecond; passing this clock's times everywhere keeps them ordered.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
