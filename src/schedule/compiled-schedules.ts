import type { Alarms } from '../alarms/alarms.ts';
import type { Logger } from '../log/logger.ts';
import { compilePlans } from './compiler.ts';
import type { ScheduleConfig } from './config.ts';
import type { SiteSettings } from './day-plan.ts';
import { PlanTable } from './plan-table.ts';
import type { SavedPlans } from './saved-plans.ts';
import { DoorSchedule, zoneOf } from './schedule.ts';
import { addDays, type Zone } from '../time/zone.ts';

export interface CompiledSchedulesOptions {
  doors: readonly { id: string; schedule: ScheduleConfig }[];
  site: SiteSettings;
  alarms: Alarms;
  log: Logger;
  /** Wall clock in ms; injectable for tests. */
  now?: () => number;
  /** The compiler; tests may pass one that fails. */
  compile?: typeof compilePlans;
  /** Local days kept before today (nextChange looks back one). */
  daysBefore?: number;
  /** Local days computed after today; nextChange looks 8 ahead. */
  daysAhead?: number;
  /** How often the plans are computed again (default 6 h). */
  refreshMs?: number;
  /** Called after every successful computation (watchers re-evaluate). */
  onRefreshed?: () => void;
  /** Where the last computed plans are kept across restarts; without it every start waits for the compiler. */
  saved?: Pick<SavedPlans, 'load' | 'save'> | undefined;
  /** After a start from saved plans, when the computation that replaces them begins (default 1 s). */
  replaceSavedAfterMs?: number;
}

const RETRY_MIN_MS = 60_000;
const RETRY_MAX_MS = 3_600_000;
// A clock outside the computed days asks for a new computation, at most this often.
const MISS_RETRY_MS = 5_000;

/**
 * Every door's schedule, over day plans computed in a child process (compiler.ts): today minus two days to
 * two months ahead, computed again every six hours and whenever the clock leaves that range (an NTP step
 * after a boot without a real-time clock). While nothing can be computed the door follows the plans it
 * has; past their end it stays closed, and `schedule_stale` tells staff.
 */
export class CompiledSchedules {
  private readonly tables = new Map<string, PlanTable>();
  private readonly schedules = new Map<string, DoorSchedule>();
  private readonly zone: Zone;
  private readonly now: () => number;
  private readonly compile: typeof compilePlans;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastAttempt = 0;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;
  /** The schedules computed; the fleet's exceptions (src/fleet-rules) may replace them while running. */
  private doors: CompiledSchedulesOptions['doors'];
  private saved: CompiledSchedulesOptions['saved'];

  constructor(private readonly options: CompiledSchedulesOptions) {
    this.doors = options.doors;
    this.saved = options.saved;
    this.zone = zoneOf(options.site.timezone);
    this.now = options.now ?? Date.now;
    this.compile = options.compile ?? compilePlans;
    for (const door of options.doors) {
      const table = new PlanTable(() => this.onMiss());
      this.tables.set(door.id, table);
      this.schedules.set(
        door.id,
        new DoorSchedule(table, {
          timezone: options.site.timezone,
          closingSoonMinutes: door.schedule.closing_soon_minutes,
        }),
      );
    }
  }

  schedule(door: string): DoorSchedule {
    const schedule = this.schedules.get(door);
    if (!schedule) throw new Error(`no schedule for door "${door}"`);
    return schedule;
  }

  /**
   * The first computation. Rejects on a bad schedule (DoorScheduleError): the service must not start on it.
   * Saved plans of the same config that cover today and tomorrow are used at once instead, and the
   * computation that replaces them runs in the background.
   */
  async start(): Promise<void> {
    if (this.loadSaved()) {
      // A little later, so the child's start does not compete with the doors' for the CPU.
      clearTimeout(this.timer);
      this.timer = setTimeout(
        () => void this.refresh('start: replacing the saved plans'),
        this.options.replaceSavedAfterMs ?? 1_000,
      );
      this.timer.unref();
      return;
    }
    this.lastAttempt = this.now();
    await this.computeNow();
    this.arm(this.options.refreshMs ?? 6 * 3_600_000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * New schedule settings for the same doors (the fleet's dated exceptions changed): computed at once; the
   * doors keep their plans until the computation answers, and keep them if it fails (`schedule_stale`).
   */
  reconfigure(
    doors: CompiledSchedulesOptions['doors'],
    saved: CompiledSchedulesOptions['saved'],
    reason: string,
  ): Promise<void> {
    const ids = (list: CompiledSchedulesOptions['doors']) => list.map((d) => d.id).join('|');
    if (ids(doors) !== ids(this.doors)) throw new Error('reconfigure: the doors must stay the same');
    this.doors = doors;
    this.saved = saved;
    // A computation already running has the old settings: compute again once it is done.
    return (this.inFlight ?? Promise.resolve()).then(() => this.refresh(reason));
  }

  /** Computes the plans again now (also what the timer and a clock outside the range do). */
  refresh(reason: string): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.lastAttempt = this.now();
    const { alarms, log } = this.options;
    this.inFlight = this.computeNow()
      .then(
        () => {
          // Stopped meanwhile (the store may be closed): the answer is not wanted.
          if (this.stopped) return;
          this.retryMs = RETRY_MIN_MS;
          alarms.clear('schedule_stale');
          log.info({ reason }, 'schedule plans computed');
          this.arm(this.options.refreshMs ?? 6 * 3_600_000);
          this.options.onRefreshed?.();
        },
        (error: Error) => {
          if (this.stopped) return;
          const until = this.coveredUntil();
          log.error(
            { err: error.message, reason, coveredUntil: until ?? null },
            'schedule plans could not be computed',
          );
          alarms.raise('schedule_stale', '', until ? `plans end ${until}` : 'no plans: doors closed');
          this.arm(this.retryMs);
          this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
        },
      )
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /** The last local date every door has plans for. */
  coveredUntil(): string | undefined {
    let until: string | undefined;
    for (const table of this.tables.values()) {
      const last = table.lastDate;
      if (!last) return undefined;
      if (!until || last < until) until = last;
    }
    return until;
  }

  private async computeNow(): Promise<void> {
    const { site } = this.options;
    const doors = this.doors;
    const daysBefore = this.options.daysBefore ?? 2;
    const daysAhead = this.options.daysAhead ?? 62;
    const today = this.zone.localDay(this.now()).key;
    const plans = await this.compile({
      doors: doors.map((d) => ({ id: d.id, schedule: d.schedule })),
      site,
      from: addDays(today, -daysBefore),
      days: daysBefore + 1 + daysAhead,
    });
    if (this.stopped) return;
    for (const [door, table] of this.tables) table.load(plans.get(door) ?? new Map());
    try {
      this.saved?.save(plans, this.now());
    } catch (error) {
      // Only the next start is slower for it: the door has its plans.
      this.options.log.warn({ err: (error as Error).message }, 'schedule plans could not be saved');
    }
  }

  /** Loads the saved plans when they are of this config and cover today and tomorrow (site time). */
  private loadSaved(): boolean {
    const { log } = this.options;
    const saved = this.saved;
    if (!saved) return false;
    let found: ReturnType<SavedPlans['load']>;
    try {
      found = saved.load();
    } catch (error) {
      log.warn(
        { err: (error as Error).message },
        'saved schedule plans unreadable; waiting for the compiler',
      );
      return false;
    }
    if (!found) {
      log.info('no saved schedule plans for this config; waiting for the compiler');
      return false;
    }
    const today = this.zone.localDay(this.now()).key;
    const needed = [today, addDays(today, 1)];
    for (const door of this.tables.keys()) {
      const days = found.plans.get(door);
      if (!days || !needed.every((date) => days.has(date))) {
        log.info({ today }, 'saved schedule plans do not cover today; waiting for the compiler');
        return false;
      }
    }
    for (const [door, table] of this.tables) table.load(found.plans.get(door)!);
    log.info(
      { computedAt: new Date(found.computedAt).toISOString(), coveredUntil: this.coveredUntil() ?? null },
      'doors start from the saved schedule plans',
    );
    return true;
  }

  private onMiss(): void {
    if (this.stopped || this.inFlight || this.now() - this.lastAttempt < MISS_RETRY_MS) return;
    const today = this.zone.localDay(this.now()).key;
    if ([...this.tables.values()].every((t) => t.covers(today))) return;
    void this.refresh(`the clock (${today}) is outside the computed days`);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh('periodic'), ms);
    this.timer.unref();
  }
}
