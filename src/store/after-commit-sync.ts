import type { Db } from './db.ts';
import { walDataSync } from './wal-sync.ts';

/**
 * Syncs what the door committed unsynced, off the event loop and one sync at a time: requests made while a
 * sync runs are covered by one more sync after it (group commit). A failed sync is reported once per failure.
 */
export class AfterCommitSync {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly sync: () => Promise<void>,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Never waits and never throws: the caller is the swipe. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain();
  }

  /** Resolves once everything requested before the call is synced (or its sync has failed): for stop. */
  async settle(): Promise<void> {
    await this.running;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.sync();
      } catch (error) {
        this.onFailure(error);
      }
    } while (this.again);
    // In the same step as the last check: a request a microtask later starts a new sync, none is lost.
    this.running = null;
  }
}

/**
 * `after_relay`: the door's commits do not wait for the disk (synchronous = NORMAL: the entry is in the OS's
 * cache before the relay moves, so a kill -9 keeps it; a power cut may lose the last milliseconds), and each is
 * synced right after on the thread pool. A failed sync puts the connection back to FULL, so the next swipe's
 * commit meets the fault itself and the door stays shut. `before_relay`: every commit syncs (FULL), no syncer.
 */
export function syncAfterRelay(
  db: Db,
  mode: 'after_relay' | 'before_relay',
  report: (detail: string) => void,
  sync: () => Promise<void> = walDataSync(db),
): AfterCommitSync | undefined {
  if (mode !== 'after_relay') {
    db.pragma('synchronous = FULL');
    return undefined;
  }
  db.pragma('synchronous = NORMAL');
  return new AfterCommitSync(sync, (error) => {
    db.pragma('synchronous = FULL');
    report((error as NodeJS.ErrnoException).code ?? (error as Error).message);
  });
}
