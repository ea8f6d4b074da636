import type { ScheduleState } from '../contract/events.ts';
import type { EventBus } from '../events/bus.ts';
import type { ClosingSoon, DoorSchedule, ScheduleChange } from './schedule.ts';

export interface ScheduleWatcherOptions {
  door: string;
  schedule: DoorSchedule;
  bus: EventBus;
  /** Wall clock; injectable for tests. */
  now?: () => Date;
  /** Re-evaluation tick in ms (default 15 s); catches clock jumps a single timer would miss. */
  tickMs?: number;
  /** Called when a timed evaluation throws (it never should); the tick keeps running. Default: rethrow. */
  onError?: (err: unknown) => void;
}

// Fire a hair after the change so the evaluation lands on the new side of the boundary.
const TIMER_MARGIN_MS = 25;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Follows one door's schedule: publishes `mode` when the state changes (and once at start) and
 * `closing_soon` once per staffless period. Evaluates on a short tick plus a timer aimed at the next
 * change, so NTP steps and DST never leave it stuck in an old state.
 */
export class ScheduleWatcher {
  private readonly now: () => Date;
  private readonly tickMs: number;
  private state: ScheduleState | undefined;
  /** The mode last published; `start()` always publishes once. */
  private published: ScheduleState | undefined;
  private upcoming: ScheduleChange | null = null;
  private warning: ClosingSoon | null = null;
  /** End instants of staffless periods already warned about (bounded). */
  private readonly warned: number[] = [];
  private tick: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ScheduleWatcherOptions) {
    this.now = options.now ?? (() => new Date());
    this.tickMs = options.tickMs ?? 15_000;
  }

  get door(): string {
    return this.options.door;
  }

  start(): void {
    if (this.tick) return;
    this.published = undefined;
    this.tick = setInterval(() => this.timed(), this.tickMs);
    this.tick.unref();
    this.evaluate();
  }

  stop(): void {
    clearInterval(this.tick);
    clearTimeout(this.timer);
    this.tick = undefined;
    this.timer = undefined;
  }

  /** The state as of the last evaluation (reads the schedule, without publishing, if none yet). */
  current(): ScheduleState {
    return this.state ?? this.refresh(this.now());
  }

  /** The next change as of the last evaluation, or null when none within 8 days. */
  next(): ScheduleChange | null {
    if (this.state === undefined) this.refresh(this.now());
    return this.upcoming;
  }

  /** The closing-soon warning in force as of the last evaluation. */
  closingSoon(): ClosingSoon | null {
    if (this.state === undefined) this.refresh(this.now());
    return this.warning;
  }

  /** Re-reads the clock and publishes what changed. Safe to call at any time (e.g. after an NTP sync). */
  evaluate(): void {
    const { bus, door } = this.options;
    const now = this.now();
    const ts = now.toISOString();
    const state = this.refresh(now);
    if (state !== this.published) {
      this.published = state;
      const next = this.upcoming
        ? { mode: this.upcoming.state, at: this.upcoming.at.toISOString() }
        : undefined;
      bus.publish({ type: 'mode', door, mode: state, next, ts });
    }
    if (this.warning && !this.warned.includes(this.warning.at.getTime())) {
      this.warned.push(this.warning.at.getTime());
      if (this.warned.length > 16) this.warned.shift();
      bus.publish({
        type: 'closing_soon',
        door,
        minutes: this.warning.minutes,
        at: this.warning.at.toISOString(),
        ts,
      });
    }
    if (this.tick) this.arm(now);
  }

  private refresh(now: Date): ScheduleState {
    const { schedule } = this.options;
    this.state = schedule.stateAt(now);
    this.upcoming = schedule.nextChange(now);
    this.warning = schedule.closingSoon(now, this.upcoming);
    return this.state;
  }

  private timed(): void {
    try {
      this.evaluate();
    } catch (err) {
      if (!this.options.onError) throw err;
      this.options.onError(err);
    }
  }

  /** Aims a timer at the next moment something is due: the change itself or the start of the warning. */
  private arm(now: Date): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.upcoming) return;
    let due = this.upcoming.at.getTime();
    const warnAt = due - this.options.schedule.closingSoonMinutes * 60_000;
    if (
      this.state === 'staffless' &&
      this.upcoming.state === 'closed' &&
      !this.warning &&
      warnAt > now.getTime()
    ) {
      due = warnAt;
    }
    const delay = Math.min(Math.max(0, due - now.getTime()) + TIMER_MARGIN_MS, MAX_TIMER_MS);
    this.timer = setTimeout(() => this.timed(), delay);
    this.timer.unref();
  }
}
