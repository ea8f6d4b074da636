import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Db } from '../store/db.ts';
import type { DeferredWrites } from '../store/deferred-writes.ts';
import type { ScheduleConfig } from './config.ts';
import type { DayPlan, SiteSettings } from './day-plan.ts';

export type DoorPlans = Map<string, Map<string, DayPlan>>;

export interface PlanInputs {
  doors: readonly { id: string; schedule: ScheduleConfig }[];
  site: SiteSettings;
  /** The software that computed the plans; another version may compute them differently. */
  softwareVersion: string;
}

// Raised when the stored shape changes, so plans written by an older layout are never read.
const FORMAT = 1;

/** Everything the plans depend on, hashed: plans saved under another key are never used. */
export function planKey(inputs: PlanInputs): string {
  const doors = inputs.doors.map((d) => ({ id: d.id, schedule: d.schedule }));
  const { timezone, country, region } = inputs.site;
  const text = JSON.stringify({
    format: FORMAT,
    version: inputs.softwareVersion,
    site: { timezone, country, region: region ?? null },
    doors,
  });
  return createHash('sha256').update(text).digest('hex');
}

/** The version in package.json (the same file in a checkout and an install of dist/), or undefined. */
export function packageVersion(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The door process's saved plans of this config and software, or undefined when the software version is unknown.
 * Its saves go through the door's queue of store writes (required here, so the door cannot be given a save that
 * waits for the lock on its event loop).
 */
export function savedPlansFor(
  db: Db,
  inputs: Omit<PlanInputs, 'softwareVersion'>,
  writes: DeferredWrites,
): SavedPlans | undefined {
  const softwareVersion = packageVersion();
  return softwareVersion ? new SavedPlans(db, planKey({ ...inputs, softwareVersion }), writes) : undefined;
}

/**
 * The last computed day plans, kept in the store so a restart (a power cut) can open the door before the
 * schedule compiler answers. `load` returns them only when saved under the same key; whether they cover
 * today is the caller's check.
 */
export class SavedPlans {
  constructor(
    private readonly db: Db,
    readonly key: string,
    /** The door process's queue of store writes: a save never waits for another process's lock. */
    private readonly writes?: DeferredWrites,
  ) {}

  load(): { plans: DoorPlans; computedAt: number } | undefined {
    const row = this.db
      .prepare('SELECT plan_key, computed_at, plans FROM schedule_plans WHERE id = 1')
      .get() as { plan_key: string; computed_at: number; plans: string } | undefined;
    if (!row || row.plan_key !== this.key) return undefined;
    const doors = JSON.parse(row.plans) as Record<string, [string, DayPlan][]>;
    const plans: DoorPlans = new Map();
    for (const [door, days] of Object.entries(doors)) plans.set(door, new Map(days));
    return { plans, computedAt: row.computed_at };
  }

  save(plans: DoorPlans, computedAt: number): void {
    const doors: Record<string, [string, DayPlan][]> = {};
    for (const [door, days] of plans) doors[door] = [...days];
    const write = () =>
      this.db
        .prepare(
          `INSERT INTO schedule_plans (id, plan_key, computed_at, plans) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET plan_key = excluded.plan_key, computed_at = excluded.computed_at,
           plans = excluded.plans`,
        )
        .run(this.key, computedAt, JSON.stringify(doors));
    // Only the newest plans matter: one still waiting for the lock is replaced.
    if (this.writes) this.writes.write('schedule plans', write, 'schedule_plans');
    else write();
  }
}
