/**
 * Admission control: whether the collector takes one more request now. Memory is what runs out
 * under overload (request bodies, their decoded spans, rows waiting for a commit), so requests
 * are refused (503 + Retry-After, which OTLP exporters honour) before the process passes its
 * memory cap, instead of being taken and acknowledged late or never:
 * - bytes in flight: bodies admitted and not yet answered stay under 1/32 of the cap (a
 *   decoded body takes several times its size: this, with the write queue's bound, is what
 *   keeps an overload's peak under the cap);
 * - resident memory: above 3/4 of the cap nothing new is admitted until it falls below 13/20
 *   (read at each admission, at most every 10 ms, and every 100 ms). Measured with the
 *   collector's 25,000-operation queue: 8 busy senders keep RSS at 167-173 MB and are not
 *   refused (at 3/5 with 1/16 and a 100,000-operation queue they were refused for 158-212 of 400
 *   requests); 20 HTTP senders and 20 gRPC connections at full speed peaked at 213 MB (239 MB
 *   before) against the 256 MB default;
 * - whatever the memory, a request is admitted when no other is in flight, so the collector
 *   always makes progress (one request at a time under pressure).
 * The write queue's own bound (queue depth) is checked beside these by the export pipeline.
 * One instance per collector process, shared by the OTLP/HTTP and OTLP/gRPC ports: the memory is
 * the process's, whichever port a request came in on. The cap is the whole process's RSS, idle
 * baseline (~87 MiB) included, as an OOM killer or a container limit counts it.
 */
export const DEFAULT_MAX_MEMORY_BYTES = 256 * 1024 * 1024;

export interface AdmissionStats {
  inflightBytes: number;
  inflightRequests: number;
  /** Requests refused by this control (memory or bytes in flight). */
  refused: number;
  rssBytes: number;
  maxMemoryBytes: number;
}

export class Admission {
  private inflightBytes = 0;
  private inflightRequests = 0;
  private refused = 0;
  private rss = process.memoryUsage.rss();
  private pressure = false;
  private sampledAt = 0;
  private readonly maxInflightBytes: number;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly maxMemoryBytes = DEFAULT_MAX_MEMORY_BYTES) {
    this.maxInflightBytes = Math.max(1024 * 1024, Math.floor(maxMemoryBytes / 32));
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }

  private sample(): void {
    this.rss = process.memoryUsage.rss();
    this.sampledAt = Date.now();
    if (this.rss > this.maxMemoryBytes * 0.75) this.pressure = true;
    else if (this.rss < this.maxMemoryBytes * 0.65) this.pressure = false;
  }

  /**
   * Takes a request of `bytes` (its declared length; 0 when unknown) or says why not. An
   * admitted request must be `release`d with the same size once answered.
   */
  admit(bytes: number): string | undefined {
    // One request is always let through when nothing else is in flight, whatever its size and
    // whatever the memory: the collector keeps making progress, one request at a time.
    if (this.inflightRequests === 0) {
      this.inflightBytes += bytes;
      this.inflightRequests++;
      return undefined;
    }
    if (Date.now() - this.sampledAt >= 10) this.sample();
    if (this.pressure) {
      this.refused++;
      return `the collector is near its memory cap (${Math.round(this.maxMemoryBytes / 1048576)} MB, --max-memory); retry later`;
    }
    if (this.inflightBytes + bytes > this.maxInflightBytes) {
      this.refused++;
      return 'the collector has too many request bytes in flight; retry later';
    }
    this.inflightBytes += bytes;
    this.inflightRequests++;
    return undefined;
  }

  release(bytes: number): void {
    this.inflightBytes -= bytes;
    this.inflightRequests--;
  }

  stats(): AdmissionStats {
    return { inflightBytes: this.inflightBytes, inflightRequests: this.inflightRequests, refused: this.refused, rssBytes: this.rss, maxMemoryBytes: this.maxMemoryBytes };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
