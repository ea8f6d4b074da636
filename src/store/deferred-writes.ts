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
  /** Writes with the same key stand for one another: a newer one replaces a waiting one in its place. */
  key?: string | undefined;
  /** For `soon`: told of a failure, and of the write being dropped. */
  fail?: (error: unknown) => void;
}

/** A write given up: the lock stayed taken past its deadline, or too many writes were waiting. */
export class StoreBusyError extends Error {
  override readonly name = 'StoreBusyError';
}

/**
 * Every write the door process makes to the shared store besides the swipe's own (alarms, counts, the recorder's
 * orders, audit rows of staff acts): none may wait on the door's event loop for another process's write lock.
 * Each is tried at once with the busy timeout off; one that finds the lock taken waits, with all after it, and is
 * tried again on a timer. Order is kept, so a later write may rely on an earlier one (a clear on its raise).
 * A write must change nothing when it finds the lock taken: one transaction (taken at BEGIN), or a statement.
 */
export class DeferredWrites {
  private readonly queue: Pending[] = [];
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly maxPending: number;
  private readonly busyTimeoutMs: number;
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** A write that writes again (an alarm raised inside one) joins the queue; the running drain takes it. */
  private draining = false;

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

  /**
   * Writes now if the lock is free, else later. `run` throwing anything but SQLITE_BUSY drops the write (logged).
   * With a `key`, a write still waiting under the same key is replaced (periodic work: only the newest counts).
   */
  write(what: string, run: () => void, key?: string): void {
    if (key !== undefined) {
      const waiting = this.queue.find((pending) => pending.key === key);
      if (waiting) {
        waiting.run = run;
        return;
      }
    }
    this.push({ what, run, key });
  }

  /**
   * A write whose caller needs its result (a staff request): resolved when it ran, rejected with its error, or
   * with StoreBusyError when the lock is still taken after `deadlineMs`. It waits in order like the rest.
   */
  soon<T>(what: string, run: () => T, deadlineMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Each ends the other: a write that ran is not given up, and one given up never runs.
      const pending: Pending = {
        what,
        run: () => {
          const value = run();
          clearTimeout(deadline);
          resolve(value);
        },
        fail: (error) => {
          clearTimeout(deadline);
          reject(error);
        },
      };
      const deadline = setTimeout(() => {
        this.queue.splice(this.queue.indexOf(pending), 1);
        pending.fail!(new StoreBusyError(`${what}: the store stayed locked by another process`));
      }, deadlineMs);
      deadline.unref();
      this.push(pending);
    });
  }

  private push(pending: Pending): void {
    this.queue.push(pending);
    if (this.queue.length > this.maxPending) {
      const dropped = this.queue.shift()!;
      this.log.error(
        { what: dropped.what, pending: this.queue.length },
        'store write dropped: the lock stayed taken',
      );
      dropped.fail?.(new StoreBusyError(`${dropped.what}: too many writes waiting for the store`));
    }
    if (this.timer === undefined && !this.draining) this.drain(0);
  }

  /** Writes still waiting for the lock. */
  get pending(): number {
    return this.queue.length;
  }

  /** What each waiting write is, oldest first (logs, tests). */
  get waiting(): string[] {
    return this.queue.map((pending) => pending.what);
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
    this.draining = true;
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
          if (next.fail) next.fail(error);
          else this.log.error({ what: next.what, err: (error as Error).message }, 'store write failed');
        }
        this.queue.shift();
        this.delayMs = this.retryMs;
      }
    } finally {
      this.draining = false;
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
