import type { Logger } from 'pino';
import type { Db } from './db.ts';

/**
 * The door's commits never checkpoint (openDoorStore) and the worker checkpoints every second. While the
 * worker is down nobody would, and the WAL would grow with every swipe; this checkpoints from the door
 * process then. The WAL holds only the door's own few commits by that time, so the pause is short, and it
 * happens only in that degraded state.
 */
export class WalFallbackCheckpoint {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly workerRunning: () => boolean,
    private readonly log: Logger,
    private readonly everyMs = 60_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  /** Checkpoints when the worker is not running; says whether it tried. */
  tick(): boolean {
    if (this.workerRunning() || !this.db.open) return false;
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'WAL checkpoint (worker down) failed');
    }
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
