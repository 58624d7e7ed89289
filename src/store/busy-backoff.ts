/**
 * What a writer does when another connection holds the write lock: it keeps its rows queued and
 * tries again later, waiting longer each time (20 ms doubling to 1 s), for as long as it takes.
 * Rows are dropped only when the queue bound is reached, never because a lock lasted long — a
 * `prune` or another process's long transaction must not cost an agent its rows.
 */
export class BusyBackoff {
  private failures = 0;
  private retryAt = 0;

  constructor(
    private readonly initialMs = 20,
    private readonly maxMs = 1000,
  ) {}

  /** False while the last busy answer is too recent to try again (the caller leaves rows queued). */
  ready(now = Date.now()): boolean {
    return now >= this.retryAt;
  }

  /** Records a busy answer; returns how many ms to wait before the next attempt. */
  busy(now = Date.now()): number {
    const wait = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 16));
    this.failures++;
    this.retryAt = now + wait;
    return wait;
  }

  /** Records a write that got through. */
  succeeded(): void {
    this.failures = 0;
    this.retryAt = 0;
  }

  /** Busy answers in a row since the last write that got through. */
  get attempts(): number {
    return this.failures;
  }
}
