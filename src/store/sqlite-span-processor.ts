import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { warnOnce } from '../log.js';
import * as A from '../semconv.js';
import { defaultDbPath, openDatabase, type SqliteDatabase } from './database.js';
import { agentIdOf, agentRowFromSpan, ownerAgentIdOf, statusChangesFromSpan, type CostFunction } from '../spans/mapping.js';
import { endedSpanOps, type ResolvedOwner } from '../spans/span-ops.js';
import { fromReadableSpan } from '../spans/readable-span.js';
import type { WriteOp } from '../spans/rows.js';
import { BusyBackoff } from './busy-backoff.js';
import { Checkpointer } from './checkpointer.js';
import { isBusy, SqliteWriter } from './writer.js';

export interface SqliteSpanProcessorOptions {
  /** Database file. Default: `AGENTLOUPE_DB` or `.agentloupe/monitoring.db` under the current directory. */
  path?: string;
  /** An already open database to write to (the processor then does not close it). */
  database?: SqliteDatabase;
  /** Most write operations held in memory; past it new ones are dropped and counted. Default 20000. */
  maxQueueSize?: number;
  /** Operations per transaction; small batches keep each write short on the agent's event loop. Default 256. */
  maxBatchSize?: number;
  /** How often queued rows are written. Default 200 ms. */
  flushIntervalMs?: number;
  /** Prices model-call spans that carry no cost of their own (from other instrumentations). */
  price?: CostFunction;
  /** Called with each write error (already counted and logged). */
  onError?: (error: Error) => void;
}

export interface SqliteSpanProcessorStats {
  /** Write operations stored. */
  written: number;
  /** Write operations lost: queue full, database unavailable, or a row the database refused. */
  dropped: number;
  /** Operations waiting to be written. */
  queued: number;
  lastError?: string;
}

interface LiveAgent {
  span: ReadableSpan;
  seenEvents: number;
}

const MAX_TRACKED_SPANS = 100_000;
const FLUSH_BATCH_FACTOR = 8;

/**
 * An OTel SpanProcessor that mirrors spans into the documented SQLite schema: an `agents` row
 * when an agent span starts, status updates from its status events, `telemetry` rows for model
 * and tool spans, `agent_usage` at each agent end, and every span into `spans`.
 *
 * onStart/onEnd only map and enqueue; rows are written in small transactions on a timer, so
 * the agent's event loop never waits on a large write, and a broken database costs the agent
 * nothing but counted drops.
 */
export class SqliteSpanProcessor implements SpanProcessor {
  readonly path: string;
  private readonly db: SqliteDatabase | undefined;
  private readonly ownsDb: boolean;
  private readonly writer: SqliteWriter | undefined;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly maxQueueSize: number;
  private readonly maxBatchSize: number;
  private readonly price: CostFunction | undefined;
  private readonly onError: ((error: Error) => void) | undefined;
  private queue: WriteOp[] = [];
  private readonly owners = new Map<string, string>();
  private readonly live = new Map<string, LiveAgent>();
  /** Agent runs whose start this processor queued and whose end it has not seen. */
  private readonly liveAgentIds = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private drainScheduled = false;
  private readonly backoff = new BusyBackoff();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private written = 0;
  private dropped = 0;
  private lastError: string | undefined;

  constructor(options: SqliteSpanProcessorOptions = {}) {
    this.path = options.path ?? defaultDbPath();
    this.maxQueueSize = options.maxQueueSize ?? 20_000;
    this.maxBatchSize = options.maxBatchSize ?? 256;
    this.price = options.price;
    this.onError = options.onError;
    let db = options.database;
    this.ownsDb = db === undefined;
    if (!db) {
      try {
        // A short busy timeout: another writer's lock must not stall the agent; we retry later instead.
        db = openDatabase(this.path, { busyTimeoutMs: 20 });
      } catch (err) {
        this.report(err as Error, `cannot open ${this.path}; spans will not be stored: ${(err as Error).message}`);
      }
    }
    this.db = db;
    this.writer = db ? new SqliteWriter(db) : undefined;
    // Only for a connection we own: a shared one keeps the checkpoint policy its owner chose.
    this.checkpointer = db && this.ownsDb ? new Checkpointer(db, this.path) : undefined;
    this.timer = setInterval(() => this.drain(false), options.flushIntervalMs ?? 200);
    this.timer.unref();
  }

  onStart(span: Span, _parentContext: Context): void {
    if (this.closed) return;
    try {
      const spanId = span.spanContext().spanId;
      const attrs = span.attributes;
      let owner: string | undefined;
      if (attrs[A.GEN_AI_OPERATION_NAME] === A.OP_INVOKE_AGENT) {
        const data = fromReadableSpan(span, false);
        const parentAgent = this.ownerOfParent(span);
        const row = agentRowFromSpan(data, parentAgent);
        owner = row.id;
        this.enqueue({ kind: 'agentStart', row });
        this.live.set(spanId, { span, seenEvents: 0 });
        if (this.liveAgentIds.size < MAX_TRACKED_SPANS) this.liveAgentIds.add(row.id);
      } else {
        owner = typeof attrs[A.AGENTLOUPE_OWNER_AGENT_ID] === 'string' ? (attrs[A.AGENTLOUPE_OWNER_AGENT_ID] as string) : this.ownerOfParent(span);
      }
      if (owner !== undefined && this.owners.size < MAX_TRACKED_SPANS) this.owners.set(spanId, owner);
    } catch (err) {
      this.report(err as Error, `could not map a starting span: ${(err as Error).message}`);
    }
  }

  onEnd(span: ReadableSpan): void {
    if (this.closed) return;
    try {
      const data = fromReadableSpan(span, true);
      const tracked = this.owners.get(data.spanId);
      this.owners.delete(data.spanId);
      const agentId = tracked ?? ownerAgentIdOf(data);
      const liveAgent = this.live.get(data.spanId);
      if (liveAgent !== undefined) {
        this.live.delete(data.spanId);
        this.liveAgentIds.delete(agentIdOf(data));
      }
      const owner: ResolvedOwner = {
        agentId,
        parentAgentId: this.ownerOfParent(span),
        statusEventsSeen: liveAgent?.seenEvents ?? 0,
        agentLive: agentId !== undefined && this.liveAgentIds.has(agentId),
      };
      const ops: WriteOp[] = [];
      endedSpanOps(data, owner, this.price, ops);
      for (const op of ops) this.enqueue(op);
      // An agent that makes spans in a long synchronous loop never lets the timer run: past half
      // the queue, write one small batch now rather than drop rows later.
      if (this.queue.length >= this.maxQueueSize / 2) this.drain(false);
      else if (this.queue.length >= this.maxBatchSize) this.scheduleDrain();
    } catch (err) {
      this.report(err as Error, `could not map an ended span: ${(err as Error).message}`);
    }
  }

  /** Writes everything queued, now. */
  forceFlush(): Promise<void> {
    this.drain(true);
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    // At shutdown durability matters more than latency: wait for other writers' locks.
    try {
      this.db?.pragma('busy_timeout = 5000');
    } catch {
      /* closed by its owner */
    }
    this.drain(true, true);
    this.closed = true;
    clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.queue.length > 0) {
      this.dropped += this.queue.length;
      this.queue = [];
    }
    if (this.dropped > 0) warnOnce(`dropped:${this.path}`, `${this.dropped} write(s) to ${this.path} were dropped (last error: ${this.lastError ?? 'queue full'}).`);
    await this.checkpointer?.stop();
    if (this.ownsDb && this.db?.open) this.db.close();
  }

  stats(): SqliteSpanProcessorStats {
    return { written: this.written, dropped: this.dropped, queued: this.queue.length, lastError: this.lastError };
  }

  private ownerOfParent(span: ReadableSpan): string | undefined {
    const parentId = span.parentSpanContext?.spanId;
    return parentId === undefined ? undefined : this.owners.get(parentId);
  }

  private enqueue(op: WriteOp): void {
    if (this.queue.length >= this.maxQueueSize || !this.writer) {
      this.dropped++;
      if (this.writer) {
        this.lastError = 'queue full';
        warnOnce(`queue-full:${this.path}`, `the write queue for ${this.path} is full (${this.maxQueueSize} operations); new rows are dropped and counted until it drains (is another process holding the database lock?).`);
      }
      return;
    }
    this.queue.push(op);
  }

  private scheduleRetry(waitMs: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drain(false);
    }, waitMs);
    this.retryTimer.unref();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain(false);
    });
  }

  /** Collects status events that live agent spans gained since the last look. */
  private pollStatuses(): void {
    for (const live of this.live.values()) {
      if (live.span.events.length <= live.seenEvents) continue;
      const data = fromReadableSpan(live.span, false);
      for (const change of statusChangesFromSpan(data, live.seenEvents)) this.enqueue({ kind: 'agentStatus', change });
      live.seenEvents = live.span.events.length;
    }
  }

  /**
   * Writes one batch, then (unless `all`) yields to the event loop before the next, so no single
   * write holds the agent up for long.
   */
  private drain(all: boolean, final = false): void {
    if (!this.writer || this.closed) return;
    this.pollStatuses();
    // While another writer holds the lock, only a full flush tries before the backoff says so.
    if (!all && !this.backoff.ready()) return;
    do {
      if (this.queue.length === 0) return;
      // A full drain blocks anyway (flush, shutdown): bigger transactions commit less often.
      const batch = this.queue.slice(0, all ? this.maxBatchSize * FLUSH_BATCH_FACTOR : this.maxBatchSize);
      const result = this.writer.apply(batch);
      if (result.error && isBusy(result.error) && !final) {
        // Another writer holds the lock: the rows stay queued (up to the queue bound) and are
        // tried again after a growing wait, however long the lock lasts.
        this.lastError = result.error.message;
        this.scheduleRetry(this.backoff.busy());
        return;
      }
      this.backoff.succeeded();
      this.queue.splice(0, batch.length);
      this.written += result.applied;
      if (result.failed > 0) {
        this.dropped += result.failed;
        this.report(result.error ?? new Error('write failed'), `${result.failed} write(s) to ${this.path} failed: ${result.error?.message ?? 'unknown error'}`);
      }
    } while (all);
    if (this.queue.length > 0) this.scheduleDrain();
  }

  private report(err: Error, message: string): void {
    this.lastError = err.message;
    warnOnce(`sqlite:${this.path}:${err.message}`, message);
    try {
      this.onError?.(err);
    } catch {
      /* a user's error callback must not break the processor either */
    }
  }
}
