/**
 * The state engine's cost per minute tick: what the door process spends each minute on the site's states
 * (clock, emergency source, state lookup, each output's value, announcements due), plus the timeline it
 * computes again when the clock leaves its window or the plans change.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { Alarms } from '../src/alarms/alarms.ts';
import { fileLineOpener } from '../src/door/gpio-line.ts';
import { EventBus } from '../src/events/bus.ts';
import { createLogger } from '../src/log/logger.ts';
import { PlanTable } from '../src/schedule/plan-table.ts';
import { LibraryPlanner } from '../src/schedule/planner.ts';
import { DoorSchedule } from '../src/schedule/schedule.ts';
import { statesDefaults } from '../src/states/config.ts';
import { StateEngine } from '../src/states/engine.ts';
import { timelineOf } from '../src/states/timeline.ts';
import { addDays } from '../src/time/zone.ts';
import { tempDir } from '../test/helpers/tmp.ts';

type Figures = Record<string, string | number>;

const BRANCH = {
  staffed: 'Mo-Fr 10:00-16:00; Sa 10:00-14:00',
  staffless: 'Mo-Su 07:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 10,
  exceptions: [],
};
const SITE = { timezone: 'Europe/Oslo', country: 'NO' };

/** A stand-in MQTT client: the bench measures the engine, not the network. */
const quietMqtt = {
  publish: (_t: string, _p: string, _o: unknown, cb?: (e?: Error) => void) => cb?.(),
  on: () => quietMqtt,
  off: () => quietMqtt,
} as unknown as MqttClient;

function percentiles(samples: number[]): { p50: number; p99: number; max: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: at(50), p99: at(99), max: sorted.at(-1)!, mean };
}

export async function benchStates(): Promise<Figures[]> {
  const days = Number(process.env.STATE_DAYS ?? 60);
  const first = '2026-11-01';
  // The controller's plans come from the compiler child into a PlanTable; the same here, computed in-process.
  const planner = new LibraryPlanner(BRANCH, SITE);
  const table = new PlanTable();
  const plans = new Map();
  for (let d = -3; d < days + 4; d++) plans.set(addDays(first, d), planner.plan(addDays(first, d)));
  table.load(plans);
  const schedule = new DoorSchedule(table, { timezone: SITE.timezone, closingSoonMinutes: 10 });

  const dir = tempDir('bench-states-');
  for (const gpio of [17, 27]) {
    mkdirSync(join(dir.path, `gpio${gpio}`), { recursive: true });
    for (const [file, content] of Object.entries({ value: '0', direction: 'out', active_low: '0' }))
      writeFileSync(join(dir.path, `gpio${gpio}`, file), `${content}\n`);
  }
  writeFileSync(join(dir.path, 'unexport'), '');
  const config = statesDefaults({
    sysfs_root: dir.path,
    outputs: [
      {
        id: 'lights',
        gpio: { pin: 17, active_low: false },
        values: { staffed: 'on', staffless: 'on', closed: { value: 'off', offset_minutes: 10 } },
      },
      { id: 'sound', gpio: { pin: 27, active_low: false }, values: { closing: 'on', closed: 'off' } },
      {
        id: 'alarm',
        mqtt: { topic: 'b/alarm' },
        values: {
          staffless: { value: 'disarmed', offset_minutes: -5 },
          closed: { value: 'armed', offset_minutes: 15 },
        },
      },
      {
        id: 'panel',
        mqtt: { topic: 'b/panel' },
        values: { staffed: 'Betjent', staffless: 'Meråpent', closing: 'Stenger snart', closed: 'Stengt' },
      },
      {
        id: 'mode',
        mqtt: { topic: 'b/mode' },
        values: {
          staffed: 'staffed',
          staffless: 'staffless',
          closing: 'closing',
          closed: 'closed',
          emergency: 'emergency',
        },
      },
    ] as never,
  });
  config.announcements = { ...config.announcements, enabled: true, play: false };

  const log = createLogger('silent');
  const bus = new EventBus();
  let events = 0;
  bus.subscribe(() => events++);
  const clock = { now: new Date(`${first}T00:00:00+01:00`) };
  const { Announcer } = await import('../src/states/announcer.ts');
  const engine = new StateEngine({
    config,
    schedule,
    bus,
    alarms: new Alarms(null, bus, log),
    log,
    mqtt: quietMqtt,
    opener: fileLineOpener(dir.path),
    announcer: new Announcer({
      config: config.announcements,
      languages: ['nb', 'en'],
      alarms: new Alarms(null, bus, log),
      log,
    }),
    now: () => clock.now,
    tickMs: 3_600_000,
  });
  await engine.start();
  const ticks = days * 24 * 60;
  const samples: number[] = [];
  const start = clock.now.getTime();
  const wall = performance.now();
  for (let i = 1; i <= ticks; i++) {
    clock.now = new Date(start + i * 60_000);
    const t = performance.now();
    engine.evaluate();
    samples.push((performance.now() - t) * 1000);
  }
  const wallMs = performance.now() - wall;
  engine.stop();
  const tick = percentiles(samples);

  const recompute: number[] = [];
  for (let i = 0; i < 200; i++) {
    const from = start + i * 3_600_000;
    const t = performance.now();
    timelineOf(schedule, {
      closing: { minutes: 15, before: ['closed'] },
      outputs: [],
      announceMinutes: [15, 10, 5],
      from: from - 2 * 86_400_000,
      to: from + 3 * 86_400_000,
    });
    recompute.push((performance.now() - t) * 1000);
  }
  const re = percentiles(recompute);
  dir.cleanup();
  const round = (n: number) => Number(n.toFixed(1));
  return [
    {
      name: `evaluate() per minute tick, ${days} days (2 GPIO + 3 MQTT outputs, announcements)`,
      ticks,
      'p50 µs': round(tick.p50),
      'p99 µs': round(tick.p99),
      'max µs': round(tick.max),
      'mean µs': round(tick.mean),
      'CPU per day ms': round(wallMs / days),
      events,
    },
    {
      name: 'timeline for the 5-day window (when the clock leaves it, or the plans change)',
      runs: recompute.length,
      'p50 µs': round(re.p50),
      'p99 µs': round(re.p99),
      'max µs': round(re.max),
    },
  ];
}

if (process.argv[1]?.endsWith('states.ts')) {
  for (const f of await benchStates()) console.log(f);
}
