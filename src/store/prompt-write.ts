import type { Db } from './db.ts';
import { isBusy } from './busy.ts';

/** How the write waits between tries; injectable so a test can release the other writer's lock there. */
export type Pause = (ms: number) => void;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep: Pause = (ms) => void Atomics.wait(sleeper, 0, 0, ms);

/** How long a write on a connection without a busy timeout of its own tries before it gives up. */
export const DEFAULT_WRITE_TIMEOUT_MS = 5000;

export interface PromptWriteOptions {
  /**
   * Gives up (throws SQLITE_BUSY) after this long; by default the connection's own busy timeout, or
   * DEFAULT_WRITE_TIMEOUT_MS on a connection that has none.
   */
  timeoutMs?: number;
  /** Between tries. */
  pollMs?: number;
  pause?: Pause;
  /** Monotonic milliseconds (tests inject one). */
  clock?: () => number;
}

/**
 * Runs an IMMEDIATE transaction as soon as the write lock is free. SQLite's own busy wait sleeps 1, 2, 5, 10 …
 * ms between tries, so meeting a worker transaction of 3 ms costs a swipe 8; here the lock is tried again every
 * quarter millisecond instead. The connection's busy timeout is off during the tries and restored after; a
 * connection that keeps it off for good (the door's journal) is written without those two pragmas.
 */
export class PromptWriter {
  private readonly busyTimeoutMs: number;
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private readonly pause: Pause;
  private readonly clock: () => number;
  /** How long the last write waited for the lock before the try that took it (0: it was free). */
  lastWaitMs = 0;

  constructor(
    private readonly db: Db,
    options: PromptWriteOptions = {},
  ) {
    this.busyTimeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
    this.timeoutMs = options.timeoutMs ?? (this.busyTimeoutMs || DEFAULT_WRITE_TIMEOUT_MS);
    this.pollMs = options.pollMs ?? 0.25;
    this.pause = options.pause ?? sleep;
    this.clock = options.clock ?? (() => performance.now());
  }

  /** `write` must take the write lock first (db.transaction's default here), so a busy try has done nothing. */
  write<T>(write: () => T): T {
    // A pragma acts when it is prepared, so it cannot be prepared once and run again.
    if (this.busyTimeoutMs) this.db.pragma('busy_timeout = 0');
    try {
      const first = this.clock();
      const deadline = first + this.timeoutMs;
      for (let tried = first; ; tried = this.clock()) {
        try {
          const result = write();
          this.lastWaitMs = tried - first;
          return result;
        } catch (error) {
          if (!isBusy(error) || this.clock() >= deadline) throw error;
          this.pause(this.pollMs);
        }
      }
    } finally {
      if (this.busyTimeoutMs) this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }
}
