/**
 * Cron on a zone's wall clock that keeps its promise across DST changes. node-cron 4.6 given a time zone
 * reads the first pass of a repeated hour as the second (every run in that hour comes an hour late) and
 * skips a time in a skipped hour until the next day (a nightly job at 02:45 in Oslo would not run on the
 * spring night). Here node-cron only answers "does this wall time match?"; ticks follow real time, and the
 * wall clock is walked forward from the latest wall time seen, so a time in a skipped hour runs right after
 * the change and a time in a repeated hour runs once (Vixie cron's rule).
 */
import cron from 'node-cron';
import { Zone } from './zone.ts';

/** A wall-clock jump larger than this is a clock being set, not DST: nothing is caught up. */
export const CLOCK_SET_MS = 3 * 3_600_000;

export interface WallClockCron {
  stop(): Promise<void>;
}

export interface WallClockCronOptions {
  timezone: string;
  /** Names the matcher in node-cron's registry. */
  name: string;
  now?: () => number;
}

/** The machine's own zone, for schedules that follow the host clock rather than the site's. */
export function machineZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The expression's fields, or undefined for a nickname such as `@daily`. */
function fieldsOf(expression: string): string[] | undefined {
  const trimmed = expression.trim();
  return trimmed.startsWith('@') ? undefined : trimmed.split(/\s+/);
}

/** Whether the expression has a seconds field (then the clock is walked per second, else per minute). */
export function stepOf(expression: string): number {
  return fieldsOf(expression)?.length === 6 ? 1000 : 60_000;
}

/**
 * Whether the expression runs every hour (hour field `*`): such a job follows real time through a repeated
 * hour instead of running once per wall time, as in Vixie cron.
 */
export function followsRealTime(expression: string): boolean {
  const fields = fieldsOf(expression);
  if (!fields) return expression.trim() === '@hourly';
  return fields[fields.length === 6 ? 2 : 1] === '*';
}

/**
 * Turns instants into "is a run due?" answers: the instant's wall time (as if it were UTC) is compared with
 * the highest wall time seen so far, and each step between them is matched.
 */
export class WallClockWalker {
  private highWater: number | undefined;

  constructor(
    private readonly zone: Zone,
    private readonly matchesWall: (wallAsUtc: Date) => boolean,
    private readonly stepMs: number,
    private readonly followRealTime = false,
  ) {}

  /** Wall time at an instant, expressed as the UTC instant with the same reading, floored to the step. */
  wallOf(instant: number): number {
    const asUtc = instant + this.zone.offset(instant);
    return asUtc - (asUtc % this.stepMs);
  }

  /** Marks the start: only wall times after this one can be due. */
  start(instant: number): void {
    this.highWater = this.wallOf(instant);
  }

  /** True when some wall time after the last one seen, up to this instant's, matches. */
  advance(instant: number): boolean {
    const wall = this.wallOf(instant);
    if (this.highWater === undefined || Math.abs(wall - this.highWater) > CLOCK_SET_MS) {
      this.highWater = wall;
      return this.matchesWall(new Date(wall));
    }
    // The wall clock went back (a repeated hour): an hourly job runs on, a fixed time does not run again.
    if (wall < this.highWater && this.followRealTime) this.highWater = wall - this.stepMs;
    if (wall <= this.highWater) return false;
    let due = false;
    for (let t = this.highWater + this.stepMs; t <= wall && !due; t += this.stepMs) {
      due = this.matchesWall(new Date(t));
    }
    this.highWater = wall;
    return due;
  }
}

/** Runs `fn` at the expression's wall times in `options.timezone`; a run is skipped while one is going. */
export function scheduleWallClock(
  expression: string,
  fn: () => Promise<unknown> | unknown,
  options: WallClockCronOptions,
): WallClockCron {
  const now = options.now ?? Date.now;
  const zone = new Zone(options.timezone);
  // The wall time is handed over as UTC, so the matcher reads it unchanged.
  const matcher = cron.createTask(expression, () => undefined, { timezone: 'UTC', name: options.name });
  const step = stepOf(expression);
  const walker = new WallClockWalker(zone, (wall) => matcher.match(wall), step, followsRealTime(expression));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  const arm = (): void => {
    if (stopped) return;
    const at = now();
    // A few ms past the boundary, so the instant read in the tick is inside the new step.
    timer = setTimeout(tick, step - (at % step) + 5);
  };
  const tick = (): void => {
    if (stopped) return;
    if (walker.advance(now()) && !running) {
      running = Promise.resolve()
        .then(fn)
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
        });
    }
    arm();
  };

  walker.start(now());
  arm();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await matcher.destroy();
      await running;
    },
  };
}
