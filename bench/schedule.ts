/**
 * Schedule costs: the libraries in this process (check-config, tests), the child-process compiler the
 * controller uses, and stateAt (per swipe) over the compiled plans.
 */
import { EventBus } from '../src/events/bus.ts';
import type { ScheduleConfig } from '../src/schedule/config.ts';
import { compilePlans } from '../src/schedule/compiler.ts';
import { PlanTable } from '../src/schedule/plan-table.ts';
import { scheduleFromConfig } from '../src/schedule/planner.ts';
import { DoorSchedule } from '../src/schedule/schedule.ts';
import { ScheduleWatcher } from '../src/schedule/watcher.ts';

type Figures = Record<string, string | number>;

const LIBRARY: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00; Sa 10:00-14:00',
  staffless: 'Mo-Su 07:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 10,
  exceptions: [{ date: '2026-12-24', staffed: '10:00-13:00', staffless: '07:00-10:00,13:00-15:00' }],
};
const SITE = { timezone: 'Europe/Oslo', country: 'NO' };
const YEAR_START = Date.parse('2026-01-01T00:00:00Z');
const YEAR_MS = 365 * 86_400_000;

function timeEach(name: string, runs: number, op: (i: number) => void): Figures {
  const samples: number[] = [];
  const wall = performance.now();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    op(i);
    samples.push((performance.now() - t) * 1000);
  }
  const wallMs = performance.now() - wall;
  samples.sort((a, b) => a - b);
  const pct = (p: number) =>
    Number(samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!.toFixed(1));
  return { name, runs, 'ops/s': Math.round(runs / (wallMs / 1000)), 'p50 µs': pct(50), 'p99 µs': pct(99) };
}

export async function benchSchedule(): Promise<Figures[]> {
  const figures: Figures[] = [];
  figures.push(
    timeEach('scheduleFromConfig, libraries in-process (parse + validate)', 50, () =>
      scheduleFromConfig(LIBRARY, SITE),
    ),
  );
  const schedule = scheduleFromConfig(LIBRARY, SITE);
  // Spread over a year so most days are first seen here (cold per-day plan).
  figures.push(
    timeEach('stateAt, random instants in 2026', 20_000, (i) =>
      schedule.stateAt(new Date(YEAR_START + ((i * 7_919_993_777) % YEAR_MS))),
    ),
  );
  const now = Date.parse('2026-11-25T12:00:00Z');
  figures.push(timeEach('stateAt, same day (a swipe)', 20_000, (i) => schedule.stateAt(new Date(now + i))));
  figures.push(
    timeEach('nextChange, random instants in 2026', 2_000, (i) =>
      schedule.nextChange(new Date(YEAR_START + ((i * 7_919_993_777) % YEAR_MS))),
    ),
  );
  // What the controller does at start and every 6 h: 65 days of plans from a child process.
  const compileMs: number[] = [];
  let plans = new Map();
  for (let run = 0; run < 5; run++) {
    const t = performance.now();
    plans = await compilePlans({
      doors: [{ id: 'main', schedule: LIBRARY }],
      site: SITE,
      from: '2026-11-23',
      days: 65,
    });
    compileMs.push(performance.now() - t);
  }
  compileMs.sort((a, b) => a - b);
  figures.push({
    name: 'compilePlans: child process, 65 days, one door',
    runs: 5,
    'median ms': Math.round(compileMs[2]!),
    'max ms': Math.round(compileMs[4]!),
    runs_from: import.meta.url.endsWith('.ts') ? 'source via tsx (dist/ is faster)' : 'dist',
  });
  const table = new PlanTable();
  table.load(plans.get('main')!);
  const compiled = new DoorSchedule(table, { timezone: SITE.timezone, closingSoonMinutes: 10 });
  figures.push(
    timeEach('stateAt over compiled plans, same day (a swipe in the controller)', 20_000, (i) =>
      compiled.stateAt(new Date(now + i)),
    ),
  );
  figures.push(
    timeEach('nextChange over compiled plans', 2_000, (i) => compiled.nextChange(new Date(now + i * 60_000))),
  );
  let clock = new Date(now);
  const watcher = new ScheduleWatcher({ door: 'main', schedule, bus: new EventBus(), now: () => clock });
  figures.push(
    timeEach('watcher evaluate (one tick)', 2_000, (i) => {
      clock = new Date(now + i * 15_000);
      watcher.evaluate();
    }),
  );
  return figures;
}

if (process.argv[1]?.endsWith('schedule.ts')) {
  for (const f of await benchSchedule()) console.log(f);
}
