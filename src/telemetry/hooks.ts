import { warnOnce } from '../log.js';

/** One telemetry record on its way to storage; a hook may change it. */
export interface TelemetryRecord {
  agentId: string;
  kind: 'model' | 'tool';
  provider?: string;
  model?: string;
  engineId?: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  /** USD. */
  costUsd: number;
  /** False when no price was known; set it true when a hook supplies the cost. */
  priced: boolean;
  partial?: boolean;
  toolName?: string;
  toolArgs?: string;
  toolApproved?: boolean;
  toolApprovalType?: string;
}

export type TelemetryHook = (record: TelemetryRecord) => TelemetryRecord | void | Promise<TelemetryRecord | void>;

/** What lifecycle hooks are told about a run. */
export interface AgentLifecycleInfo {
  id: string;
  name: string;
  type: string;
  planId: string | undefined;
  parentId: string | undefined;
  status: string;
}

export type LifecycleEvent = 'agentStart' | 'agentComplete' | 'agentFail';
export type LifecycleHook = (agent: AgentLifecycleInfo) => void | Promise<void>;

export interface TelemetryHooksOptions {
  /** How long an async telemetry hook may take before it is skipped. Default 1000 ms. */
  timeoutMs?: number;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const TIMED_OUT = Symbol('timed out');

/**
 * Telemetry hooks, as in the seed's hook registry: they run in registration order before a
 * record is stored and may modify it; a hook that throws, rejects or runs past its timeout is
 * logged as a warning and skipped, and the record is stored all the same. Synchronous hooks
 * keep the whole path synchronous.
 */
export class TelemetryHooks {
  private readonly telemetry: TelemetryHook[] = [];
  private readonly lifecycle: Record<LifecycleEvent, LifecycleHook[]> = { agentStart: [], agentComplete: [], agentFail: [] };
  private readonly timeoutMs: number;

  constructor(options: TelemetryHooksOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  /** Adds a telemetry hook; returns a function that removes it. */
  onTelemetry(hook: TelemetryHook): () => void {
    return this.add(this.telemetry, hook);
  }

  onAgentStart(hook: LifecycleHook): () => void {
    return this.add(this.lifecycle.agentStart, hook);
  }

  onAgentComplete(hook: LifecycleHook): () => void {
    return this.add(this.lifecycle.agentComplete, hook);
  }

  onAgentFail(hook: LifecycleHook): () => void {
    return this.add(this.lifecycle.agentFail, hook);
  }

  /** The record after every hook; a Promise only when some hook is asynchronous. */
  runTelemetry(record: TelemetryRecord): TelemetryRecord | Promise<TelemetryRecord> {
    let current = record;
    for (let i = 0; i < this.telemetry.length; i++) {
      const hook = this.telemetry[i]!;
      const copy = { ...current };
      let out: ReturnType<TelemetryHook>;
      try {
        out = hook(copy);
      } catch (err) {
        warnOnce(`hook-throw:${describe(err)}`, `telemetry hook #${i + 1} threw and was skipped: ${describe(err)}`);
        continue;
      }
      if (out instanceof Promise) return this.finishAsync(current, copy, out, i);
      current = out ?? copy;
    }
    return current;
  }

  private async finishAsync(before: TelemetryRecord, copy: TelemetryRecord, pending: Promise<TelemetryRecord | void>, index: number): Promise<TelemetryRecord> {
    let current = (await this.settle(pending, index, copy)) ?? before;
    for (let i = index + 1; i < this.telemetry.length; i++) {
      const next = { ...current };
      try {
        const out = this.telemetry[i]!(next);
        current = (out instanceof Promise ? await this.settle(out, i, next) : (out ?? next)) ?? current;
      } catch (err) {
        warnOnce(`hook-throw:${describe(err)}`, `telemetry hook #${i + 1} threw and was skipped: ${describe(err)}`);
      }
    }
    return current;
  }

  /** The hook's record, or undefined when it failed or timed out (then it is skipped). */
  private async settle(pending: Promise<TelemetryRecord | void>, index: number, copy: TelemetryRecord): Promise<TelemetryRecord | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.timeoutMs);
      timer.unref();
    });
    try {
      const out = await Promise.race([pending, timeout]);
      if (out === TIMED_OUT) {
        warnOnce(`hook-timeout:${index}`, `telemetry hook #${index + 1} took longer than ${this.timeoutMs} ms and was skipped`);
        pending.catch(() => undefined);
        return undefined;
      }
      return out ?? copy;
    } catch (err) {
      warnOnce(`hook-reject:${describe(err)}`, `telemetry hook #${index + 1} failed and was skipped: ${describe(err)}`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Notifies lifecycle hooks; they observe and cannot delay or break the run. */
  runLifecycle(event: LifecycleEvent, agent: AgentLifecycleInfo): void {
    const info: AgentLifecycleInfo = {
      id: agent.id,
      name: agent.name,
      type: agent.type,
      planId: agent.planId,
      parentId: agent.parentId,
      status: agent.status,
    };
    for (const hook of this.lifecycle[event]) {
      try {
        const out = hook(info);
        if (out instanceof Promise) out.catch((err: unknown) => warnOnce(`lifecycle:${describe(err)}`, `${event} hook failed: ${describe(err)}`));
      } catch (err) {
        warnOnce(`lifecycle:${describe(err)}`, `${event} hook failed: ${describe(err)}`);
      }
    }
  }

  private add<T>(list: T[], hook: T): () => void {
    list.push(hook);
    return () => {
      const i = list.indexOf(hook);
      if (i >= 0) list.splice(i, 1);
    };
  }
}
