/** What the JSON API answers (src/ui/api.ts), as the browser receives it: bigints arrive as strings. */
import type { AgentRecord, SpanRecord, StatsSummary, SummaryGroup, SummaryRow, TelemetryEntry, TreeNode } from '../../src/store/reader.js';
import type { RecentCall, RunPage, RunRow, RunUsage, SessionRow, Timeline } from '../../src/store/ui-queries.js';
import type { AlertRecord, HealthChangeRecord } from '../../src/store/health-store.js';
import type { WorkerStatus } from '../../src/health/heartbeats.js';
import type { ZombieAgent } from '../../src/health/zombies.js';
import type { ComponentHealth } from '../../src/health/types.js';
import type { PriceMatch } from '../../src/telemetry/pricing.js';
import type { SessionEventCounts, SessionTurn, SessionTurns, TurnTool } from '../../src/store/session-queries.js';

export type { AgentRecord, StatsSummary, SummaryGroup, SummaryRow, TelemetryEntry, TreeNode, RecentCall, RunPage, RunRow, RunUsage, SessionRow, Timeline };
export type { AlertRecord, HealthChangeRecord, WorkerStatus, ZombieAgent, ComponentHealth, PriceMatch };
export type { SessionEventCounts, SessionTurn, SessionTurns, TurnTool };

/** A row of the sessions list: the session's usage and its events' counts. */
export interface SessionListRow extends SessionRow {
  events: SessionEventCounts;
}

/** A value as JSON carries it: bigints (nanosecond times) arrive as strings. */
type Wire<T> = { [K in keyof T]: T[K] extends bigint ? string : T[K] };

export type Span = Wire<SpanRecord>;

export interface ViewData {
  tree: TreeNode[];
  spans: Span[];
  calls: TelemetryEntry[];
  truncated: boolean;
  /** Keyed `model|engineId`. */
  prices: Record<string, PriceMatch | null>;
}

export interface Overview {
  stats: StatsSummary;
  active: AgentRecord[];
  health: { components: Record<string, number>; workers: Record<string, number>; zombies: number; alerts24h: number };
}

export interface CostData {
  by: SummaryGroup;
  rows: SummaryRow[];
  total: Omit<SummaryRow, 'key'>;
}

export interface HealthData {
  components: HealthChangeRecord[];
  history: HealthChangeRecord[];
  live: ComponentHealth[];
  workers: WorkerStatus[];
  /** The most recently active zombies, at most 100; `zombiesTotal` counts them all. */
  zombies: ZombieAgent[];
  zombiesTotal: number;
  alerts: AlertRecord[];
}

export interface LiveData {
  now: number;
  running: AgentRecord[];
  recentRuns: AgentRecord[];
  recentCalls: RecentCall[];
}

export interface SessionDetail {
  session: AgentRecord;
  usage: RunUsage | null;
  /** One page of the session's model requests, oldest first. */
  turns: TelemetryEntry[];
  /** Model requests in all, and where this page starts. */
  total: number;
  offset: number;
  limit: number;
}
