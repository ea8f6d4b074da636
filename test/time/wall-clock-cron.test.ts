import cron from 'node-cron';
import { afterEach, describe, expect, it } from 'vitest';
import {
  followsRealTime,
  scheduleWallClock,
  stepOf,
  WallClockWalker,
  type WallClockCron,
} from '../../src/time/wall-clock-cron.ts';
import { Zone } from '../../src/time/zone.ts';

const OSLO = new Zone('Europe/Oslo');
const matchers: { destroy(): unknown }[] = [];
afterEach(async () => {
  await Promise.all(matchers.splice(0).map((m) => m.destroy()));
});

/** Ticks a walker once per step from `from` to `to` (UTC ISO) and returns the instants it said were due. */
function dueInstants(expression: string, from: string, to: string, zone = OSLO, tickMs = stepOf(expression)) {
  const matcher = cron.createTask(expression, () => undefined, { timezone: 'UTC' });
  matchers.push(matcher);
  const walker = new WallClockWalker(
    zone,
    (w) => matcher.match(w),
    stepOf(expression),
    followsRealTime(expression),
  );
  const start = Date.parse(from);
  walker.start(start);
  const due: number[] = [];
  for (let t = start + tickMs + 5; t <= Date.parse(to); t += tickMs) if (walker.advance(t)) due.push(t);
  return due;
}

const wallText = (instant: number, zone = OSLO) => {
  const w = zone.wall(instant);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${p(w.month)}-${p(w.day)} ${p(w.hour)}:${p(w.minute)}`;
};

describe('cron on the wall clock across DST', () => {
  it.each([
    ['spring forward', '2027-03-26T12:00:00Z', '2027-03-29T12:00:00Z'],
    ['fall back', '2026-10-23T12:00:00Z', '2026-10-26T12:00:00Z'],
  ])(
    'runs a nightly time once on each of three nights around the %s, even inside the changed hour',
    (_, from, to) => {
      for (const expression of ['45 2 * * *', '30 2 * * *', '0 2 * * *', '15 3 * * *', '59 1 * * *']) {
        const due = dueInstants(expression, from, to);
        const nights = due.map((t) => wallText(t).slice(0, 10));
        expect(nights, expression).toEqual([...new Set(nights)]);
        expect(nights, expression).toHaveLength(3);
      }
    },
  );

  it('runs a time in the skipped hour right after the clocks go forward', () => {
    const due = dueInstants('45 2 * * *', '2027-03-28T00:00:00Z', '2027-03-28T03:00:00Z');
    expect(due.map((t) => wallText(t))).toEqual(['2027-03-28 03:00']);
  });

  it('runs a time in the repeated hour once, in its first pass', () => {
    const due = dueInstants('30 2 * * *', '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z');
    expect(due.map((t) => new Date(t).toISOString().slice(0, 16))).toEqual(['2026-10-25T00:30']);
  });

  it('keeps an hourly or per-second job on real time through the repeated hour', () => {
    // 23:00 to 04:00 UTC on the fall-back night is five real hours: five runs of an hourly job.
    expect(dueInstants('7 * * * *', '2026-10-24T23:00:00Z', '2026-10-25T04:00:00Z')).toHaveLength(5);
    // The CI failure: a per-second job started just before the change ran on (node-cron waited an hour).
    const perSecond = dueInstants('* * * * * *', '2026-10-25T00:59:50Z', '2026-10-25T01:00:10.500Z');
    expect(perSecond).toHaveLength(20);
  });

  it('catches nothing up when the clock is set by more than three hours, either way', () => {
    const matcher = cron.createTask('0 12 * * *', () => undefined, { timezone: 'UTC' });
    matchers.push(matcher);
    const walker = new WallClockWalker(new Zone('UTC'), (w) => matcher.match(w), 60_000);
    walker.start(Date.parse('2026-06-01T08:00:00Z'));
    // Six hours forward: 12:00 is not caught up.
    expect(walker.advance(Date.parse('2026-06-01T14:00:00Z'))).toBe(false);
    // Set back by more than three hours: the day runs again from there.
    expect(walker.advance(Date.parse('2026-06-01T08:30:00Z'))).toBe(false);
    expect(walker.advance(Date.parse('2026-06-01T11:59:00Z'))).toBe(false);
    expect(walker.advance(Date.parse('2026-06-01T12:00:00Z'))).toBe(true);
    // Set back by less: 12:00 has run and does not run again.
    expect(walker.advance(Date.parse('2026-06-01T11:00:00Z'))).toBe(false);
    expect(walker.advance(Date.parse('2026-06-01T12:00:00Z'))).toBe(false);
    // Within three hours the walk catches up: 12:00 was passed while the process was stalled.
    walker.start(Date.parse('2026-06-02T11:00:00Z'));
    expect(walker.advance(Date.parse('2026-06-02T13:30:00Z'))).toBe(true);
  });

  it('tells per-second expressions and hourly ones apart', () => {
    expect(stepOf('* * * * * *')).toBe(1000);
    expect(stepOf('15 3 * * *')).toBe(60_000);
    expect(stepOf('@daily')).toBe(60_000);
    expect(followsRealTime('7 * * * *')).toBe(true);
    expect(followsRealTime('*/5 * * * * *')).toBe(true);
    expect(followsRealTime('@hourly')).toBe(true);
    expect(followsRealTime('15 3 * * *')).toBe(false);
    expect(followsRealTime('0 */2 * * *')).toBe(false);
    expect(followsRealTime('@daily')).toBe(false);
  });
});

describe('scheduleWallClock on real timers', () => {
  let task: WallClockCron | undefined;
  afterEach(async () => {
    await task?.stop();
    task = undefined;
  });

  it('fires every second through the first pass of the repeated hour and stops when told', async () => {
    // The process clock reads 2026-10-25 00:59:58 UTC (02:59:58 CEST) at the start.
    const skew = Date.parse('2026-10-25T00:59:58Z') - Date.now();
    const fired: number[] = [];
    task = scheduleWallClock('* * * * * *', () => fired.push(Date.now() + skew), {
      timezone: 'Europe/Oslo',
      name: 'test-dst',
      now: () => Date.now() + skew,
    });
    await waitUntil(() => fired.length >= 4, 8000);
    expect(fired.some((t) => t >= Date.parse('2026-10-25T01:00:00Z'))).toBe(true);
    await task.stop();
    const after = fired.length;
    await new Promise((r) => setTimeout(r, 1300));
    expect(fired.length).toBe(after);
  });

  it('skips a tick while the previous run is still going', async () => {
    let starts = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    task = scheduleWallClock(
      '* * * * * *',
      async () => {
        starts++;
        await held;
      },
      { timezone: 'UTC', name: 'test-overlap' },
    );
    await new Promise((r) => setTimeout(r, 2600));
    expect(starts).toBe(1);
    release();
    await waitUntil(() => starts >= 2, 3000);
  });
});

async function waitUntil(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
