import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { warnOnce } from '../log.js';
import * as A from '../semconv.js';
import { defaultDbPath, openDatabase, type SqliteDatabase } from './database.js';
import { agentIdOf, agentRowFromSpan, ownerAgentIdOf, statusChangesFromSpan, type CostFunction } from '../spans/mapping.js';
import type { ResolvedOwner } from '../spans/span-ops.js';
import { encodeEndedReadableSpan, type SettledCost } from '../spans/ended-span-transfer.js';
import type { Attributes } from '../spans/span-data.js';
import { fromReadableSpan } from '../spans/readable-span.js';
import { SpanConversion } from '../spans/span-conversion.js';
import type { WriteOp } from '../spans/rows.js';
import { WriteQueue } from './write-queue.js';

export interface SqliteSpanProcessorOptions {
  /** Database file. Default: `AGENTLOUPE_DB` or `.agentloupe/monitoring.db` under the current directory. */
  path?: string;
  /**
   * An already open database whose file to write to. The rows are written by the processor's own
   * connection in its writer thread (a connection cannot move between threads), read-only when
   * this one is; the processor does not close it.
   */
  database?: SqliteDatabase;
  /**
   * Most write operations held in memory (an ended span is one). Past it the agent waits for the writer to make room
   * while the writer makes progress; when the writer waits on another connection's lock, or makes
   * no progress for 1 s, new ones are dropped and counted. Default 20000.
   */
  maxQueueSize?: number;
  /** Operations handed to the writer thread at a time. Default 512. */
  maxBatchSize?: number;
  /** Longest an operation waits before it is handed to the writer (the most a `kill -9` loses). Default 100 ms. */
  flushIntervalMs?: number;
  /** Prices model-call spans that carry no cost of their own (from other instrumentations). */
  price?: CostFunction;
  /** Called with each write error (already counted and logged). */
  onError?: (error: Error) => void;
  /** Shares each span's conversion with the metrics processor (createMonitor wires it). */
  conversion?: SpanConversion;
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
/** How long a full queue may hold the agent up while the writer makes no progress, before operations are dropped. */
const BLOCK_WHEN_FULL_MS = 1000;
const STATUS_POLL_MS = 200;

/**
 * An OTel SpanProcessor that mirrors spans into the documented SQLite schema: an `agents` row
 * when an agent span starts, status updates from its status events, `telemetry` rows for model
 * and tool spans, `agent_usage` at each agent end, and every span into `spans`.
 *
 * onStart/onEnd only resolve a span's owner and queue the span; a writer thread maps it to rows
 * and stores them (WriteQueue, ended-span-transfer.ts), so the agent's event loop never waits on a commit, a lock or a checkpoint, and a
 * broken database costs the agent nothing but counted drops.
 */
export class SqliteSpanProcessor implements SpanProcessor {
  readonly path: string;
  private readonly queue: WriteQueue | undefined;
  private readonly conversion: SpanConversion;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly owners = new Map<string, string>();
  private readonly live = new Map<string, LiveAgent>();
  /** Agent runs whose start this processor queued and whose end it has not seen. */
  private readonly liveAgentIds = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Operations lost before reaching the queue (no database). */
  private lost = 0;
  private lastError: string | undefined;

  constructor(options: SqliteSpanProcessorOptions = {}) {
    const given = options.database;
    this.path = given?.name ?? options.path ?? defaultDbPath();
    this.conversion = options.conversion ?? new SpanConversion(options.price);
    this.onError = options.onError;
    let ready = given !== undefined;
    if (!given) {
      try {
        // Created here, so that a bad path is reported at once; the writer thread opens its own
        // connection and migrates an older file there, off the agent's thread.
        openDatabase(this.path, { busyTimeoutMs: 1000, deferMigration: true }).close();
        ready = true;
      } catch (err) {
        this.report(err as Error, `cannot open ${this.path}; spans will not be stored: ${(err as Error).message}`);
      }
    }
    if (ready) {
      try {
        this.queue = new WriteQueue({
          path: this.path,
          readonly: given?.readonly ?? false,
          maxQueueSize: options.maxQueueSize ?? 20_000,
          maxBatchSize: options.maxBatchSize ?? 512,
          flushIntervalMs: options.flushIntervalMs ?? 100,
          blockWhenFullMs: BLOCK_WHEN_FULL_MS,
          // The queue has logged it already.
          onError: (err) => this.report(err, undefined),
        });
      } catch (err) {
        this.report(err as Error, `cannot start the SQLite writer for ${this.path}; spans will not be stored: ${(err as Error).message}`);
      }
    }
    this.timer = setInterval(() => this.pollStatuses(), STATUS_POLL_MS);
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
        this.push([{ kind: 'agentStart', row }]);
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
      const spanId = span.spanContext().spanId;
      const tracked = this.owners.get(spanId);
      this.owners.delete(spanId);
      // Own spans were tracked at their start; a span from elsewhere names its run itself, if at all.
      const agentId = tracked ?? ownerAgentIdOf(this.conversion.ended(span));
      const liveAgent = this.live.get(spanId);
      if (liveAgent !== undefined) {
        this.live.delete(spanId);
        this.liveAgentIds.delete(agentIdOf(this.conversion.ended(span)));
      }
      const owner: ResolvedOwner = {
        agentId,
        parentAgentId: this.ownerOfParent(span),
        statusEventsSeen: liveAgent?.seenEvents ?? 0,
        agentLive: agentId !== undefined && this.liveAgentIds.has(agentId),
      };
      // The price is settled here, where the price table is; a span that carries its cost needs none.
      let cost: SettledCost | null = null;
      if (!Number.isFinite(span.attributes[A.AGENTLOUPE_COST_USD])) {
        const row = this.conversion.telemetry(span);
        if (row !== null && row.toolName === null) cost = { costUsd: row.estimatedCost, priced: !row.unpriced };
      }
      if (this.queue === undefined) this.lost++;
      else this.queue.pushEnded(encodeEndedReadableSpan(span, owner, cost), span.resource.attributes as Attributes, span.attributes as Attributes);
    } catch (err) {
      this.report(err as Error, `could not map an ended span: ${(err as Error).message}`);
    }
  }

  /** Resolves once everything recorded so far is committed (or another writer's lock holds it up). */
  async forceFlush(): Promise<void> {
    this.pollStatuses();
    await this.queue?.flush();
  }

  /**
   * Blocks until everything recorded so far is committed or `timeoutMs` passed: for exit paths,
   * where the event loop will not turn again. True when all was written.
   */
  flushSync(timeoutMs = 2000): boolean {
    this.pollStatuses();
    return this.queue?.flushSync(timeoutMs) ?? true;
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.pollStatuses();
    this.closed = true;
    clearInterval(this.timer);
    // At shutdown durability matters more than latency: other writers' locks are waited out (5 s).
    await this.queue?.close(5000);
    const { dropped } = this.stats();
    if (dropped > 0) warnOnce(`dropped:${this.path}`, `${dropped} write(s) to ${this.path} were dropped (last error: ${this.lastError ?? 'queue full'}).`);
  }

  stats(): SqliteSpanProcessorStats {
    const q = this.queue?.stats();
    return {
      written: q?.written ?? 0,
      dropped: this.lost + (q ? q.dropped + q.failed : 0),
      queued: q?.queued ?? 0,
      lastError: this.lastError ?? q?.lastError,
    };
  }

  private ownerOfParent(span: ReadableSpan): string | undefined {
    const parentId = span.parentSpanContext?.spanId;
    return parentId === undefined ? undefined : this.owners.get(parentId);
  }

  private push(ops: WriteOp[]): void {
    if (this.queue === undefined) this.lost += ops.length;
    else this.queue.push(ops);
  }

  /** Collects status events that live agent spans gained since the last look. */
  private pollStatuses(): void {
    if (this.closed) return;
    for (const live of this.live.values()) {
      if (live.span.events.length <= live.seenEvents) continue;
      const data = fromReadableSpan(live.span, false);
      const ops: WriteOp[] = [];
      for (const change of statusChangesFromSpan(data, live.seenEvents)) ops.push({ kind: 'agentStatus', change });
      live.seenEvents = live.span.events.length;
      this.push(ops);
    }
  }

  private report(err: Error, message: string | undefined): void {
    this.lastError = err.message;
    if (message !== undefined) warnOnce(`sqlite:${this.path}:${err.message}`, message);
    try {
      this.onError?.(err);
    } catch {
      /* a user's error callback must not break the processor either */
    }
  }
}
