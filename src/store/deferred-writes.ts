import type { Logger } from '../log/logger.ts';
import type { Db } from './db.ts';
import { isBusy } from './busy.ts';

export interface DeferredWritesOptions {
  /** First wait after finding the lock taken; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Writes kept while the lock stays taken; past it the oldest is dropped (and logged). */
  maxPending?: number;
}

interface Pending {
  what: string;
  run: () => void;
}

/**
 * Bookkeeping writes from the door's event loop (alarms) that must never wait for another process's write lock.
 * Each is tried at once with the busy timeout off; one that finds the lock taken waits, with all after it, and is
 * tried again on a timer. Order is kept, so a later write may rely on an earlier one (a clear on its raise).
 */
export class DeferredWrites {
  private readonly queue: Pending[] = [];
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly maxPending: number;
  private readonly busyTimeoutMs: number;
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    options: DeferredWritesOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 5;
    this.maxRetryMs = options.maxRetryMs ?? 1000;
    this.maxPending = options.maxPending ?? 1000;
    this.busyTimeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
    this.delayMs = this.retryMs;
  }

  /** Writes now if the lock is free, else later. `run` throwing anything but SQLITE_BUSY drops the write (logged). */
  write(what: string, run: () => void): void {
    this.queue.push({ what, run });
    if (this.queue.length > this.maxPending) {
      const dropped = this.queue.shift()!;
      this.log.error(
        { what: dropped.what, pending: this.queue.length },
        'store write dropped: the lock stayed taken',
      );
    }
    if (this.timer === undefined) this.drain(0);
  }

  /** Writes still waiting for the lock. */
  get pending(): number {
    return this.queue.length;
  }

  /** At stop: what is left, each waiting up to the connection's busy timeout. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drain(this.busyTimeoutMs);
  }

  private drain(busyTimeoutMs: number): void {
    if (!this.db.open) return;
    // A pragma acts when it is prepared, so it cannot be prepared once and run again.
    this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    try {
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        try {
          next.run();
        } catch (error) {
          if (isBusy(error) && busyTimeoutMs === 0) {
            this.later();
            return;
          }
          this.log.error({ what: next.what, err: (error as Error).message }, 'store write failed');
        }
        this.queue.shift();
        this.delayMs = this.retryMs;
      }
    } finally {
      if (this.db.open) this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  private later(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain(0);
    }, this.delayMs);
    this.timer.unref();
    this.delayMs = Math.min(this.maxRetryMs, this.delayMs * 2);
  }
}
