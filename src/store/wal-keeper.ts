/**
 * Keeps the write-ahead log bounded. SQLite's PASSIVE checkpoint never waits, so a steady writer
 * beside readers can starve it: the WAL then grows without limit (hundreds of MB in 20 s under
 * collector load) and is only emptied at shutdown. The keeper runs between transactions, on a
 * connection off the agent's thread, and escalates:
 * - every tick a PASSIVE checkpoint (copies what it can, blocks no one);
 * - when the WAL file passes `restartBytes`, or PASSIVE has not caught up for a few ticks, a
 *   RESTART checkpoint: it waits (busy timeout) for readers to move on and makes the next writer
 *   start the WAL from its beginning, so the file stops growing;
 * - `journal_size_limit` on every writer connection trims the file back to that size whenever
 *   it restarts;
 * - once no write has arrived for `idleTruncateMs`, a TRUNCATE checkpoint empties the file.
 */
import { existsSync, statSync } from 'node:fs';
import type { SqliteDatabase } from './database.js';

export interface WalLimits {
  /** WAL size that triggers a RESTART checkpoint. */
  restartBytes: number;
  /** `PRAGMA journal_size_limit`: the size the WAL file is trimmed to when it restarts. */
  journalSizeLimit: number;
  /** Quiet time after which the WAL is truncated to zero bytes. */
  idleTruncateMs: number;
  /** Ticks PASSIVE may fall behind before a RESTART is forced. */
  lagTicks: number;
}

export const WAL_LIMITS: WalLimits = {
  restartBytes: 16 * 1024 * 1024,
  journalSizeLimit: 64 * 1024 * 1024,
  idleTruncateMs: 2000,
  lagTicks: 3,
};

/** The documented bound on the WAL file under steady load (see docs/reliability.md). */
export const WAL_BOUND_BYTES = WAL_LIMITS.journalSizeLimit;

export type WalAction = 'none' | 'passive' | 'restart' | 'truncate';

export interface WalTick {
  action: WalAction;
  /** WAL file size after the tick, bytes. */
  walBytes: number;
  /** True when a reader or writer kept the checkpoint from completing. */
  busy: boolean;
}

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

export function walBytes(path: string): number {
  const wal = `${path}-wal`;
  try {
    return existsSync(wal) ? statSync(wal).size : 0;
  } catch {
    return 0;
  }
}

export class WalKeeper {
  private lastLog = -1;
  private lastChange = Date.now();
  private lagging = 0;
  private truncated = false;
  private readonly frameBytes: number;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly path: string,
    private readonly limits: WalLimits = WAL_LIMITS,
  ) {
    db.pragma(`journal_size_limit = ${limits.journalSizeLimit}`);
    this.frameBytes = (db.pragma('page_size', { simple: true }) as number) + 24;
  }

  private checkpoint(mode: 'PASSIVE' | 'RESTART' | 'TRUNCATE'): CheckpointRow | undefined {
    try {
      return (this.db.pragma(`wal_checkpoint(${mode})`) as CheckpointRow[])[0];
    } catch {
      return undefined; // busy past the busy timeout: next tick
    }
  }

  /** One round of upkeep; call it on a timer (about once a second), between transactions. */
  tick(now = Date.now()): WalTick {
    if (!this.db.open) return { action: 'none', walBytes: 0, busy: false };
    const passive = this.checkpoint('PASSIVE');
    if (!passive || passive.log < 0) return { action: 'passive', walBytes: walBytes(this.path), busy: true };
    if (passive.log !== this.lastLog) {
      this.lastLog = passive.log;
      this.lastChange = now;
      this.truncated = false;
    }
    if (now - this.lastChange >= this.limits.idleTruncateMs) {
      if (this.truncated || walBytes(this.path) === 0) return { action: 'none', walBytes: 0, busy: false };
      const r = this.checkpoint('TRUNCATE');
      this.truncated = r !== undefined && r.busy === 0;
      return { action: 'truncate', walBytes: walBytes(this.path), busy: !this.truncated };
    }
    this.lagging = passive.checkpointed < passive.log ? this.lagging + 1 : 0;
    // Frames written since the WAL last restarted, not the file size: the file keeps its
    // high-water mark (up to journal_size_limit) after a restart.
    if (passive.log * this.frameBytes > this.limits.restartBytes || this.lagging >= this.limits.lagTicks) {
      const r = this.checkpoint('RESTART');
      if (r && r.busy === 0) this.lagging = 0;
      return { action: 'restart', walBytes: walBytes(this.path), busy: !r || r.busy !== 0 };
    }
    return { action: 'passive', walBytes: walBytes(this.path), busy: passive.busy !== 0 };
  }
}
