import { afterEach, describe, expect, it } from 'vitest';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { EventBus } from '../../src/events/bus.ts';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { scheduleFromConfig } from '../../src/schedule/planner.ts';
import { ScheduleWatcher } from '../../src/schedule/watcher.ts';
import { waitFor } from '../helpers/ports.ts';

/**
 * Wall-clock jumps (NTP corrections, a dead RTC battery set right, DST) under a running watcher whose
 * clock the test moves, as faketime would, while the watcher's own timers run for real. libfaketime is
 * not needed: the clock is injected. After each jump the door's mode follows within one tick, and
 * the schedule reads local wall-clock time in Europe/Oslo across both DST changes.
 */
const LIBRARY: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00',
  staffless: 'Mo-Su 07:00-22:00, Su 02:00-03:00', // ',' adds; ';' would replace Sunday
  holidays_closed: false,
  closing_soon_minutes: 10,
  exceptions: [],
};
const schedule = scheduleFromConfig(LIBRARY, { timezone: 'Europe/Oslo', country: 'NO' });

const watchers: ScheduleWatcher[] = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.stop();
});

function running(startIso: string) {
  const bus = new EventBus();
  const modes: string[] = [];
  bus.subscribe((e: DorvaktEvent) => {
    if (e.type === 'mode') modes.push(e.mode);
  });
  const clock = { ms: Date.parse(startIso) };
  // The injected clock advances with real time, like a system clock, and jumps when told.
  const realStart = Date.now();
  const base = { ms: clock.ms };
  const now = () => new Date(base.ms + (Date.now() - realStart));
  const watcher = new ScheduleWatcher({ door: 'main', schedule, bus, now, tickMs: 25 });
  watchers.push(watcher);
  watcher.start();
  return {
    modes,
    watcher,
    jumpTo(iso: string) {
      base.ms = Date.parse(iso) - (Date.now() - realStart);
    },
  };
}

describe('wall clock jumps under a running schedule watcher', () => {
  it('NTP steps forward past closing and back again: the mode follows each jump within a tick', async () => {
    const w = running('2026-11-25T21:00:00+01:00'); // Wednesday, staffless until 22:00
    expect(w.watcher.current()).toBe('staffless');
    w.jumpTo('2026-11-25T23:30:00+01:00');
    await waitFor(() => w.modes.at(-1) === 'closed', 2000, 'closed after the forward jump');
    w.jumpTo('2026-11-25T21:30:00+01:00');
    await waitFor(() => w.modes.at(-1) === 'staffless', 2000, 'staffless after the backward jump');
    // A big correction (an RTC that booted in 1970-ish territory, then NTP) lands in the right mode.
    w.jumpTo('2026-11-26T11:00:00+01:00');
    await waitFor(() => w.modes.at(-1) === 'staffed', 2000, 'staffed on Thursday 11:00');
    expect(w.modes).toEqual(['staffless', 'closed', 'staffless', 'staffed']);
  });

  it('a small backward step inside the same period publishes nothing', async () => {
    const w = running('2026-11-25T12:00:00+01:00');
    w.jumpTo('2026-11-25T11:58:00+01:00');
    await new Promise((r) => setTimeout(r, 200));
    expect(w.modes).toEqual(['staffed']);
  });

  it('spring forward (2026-03-29, 02:00 → 03:00 CEST): opening and the skipped hour', () => {
    // The Sunday 02:00-03:00 staffless hour does not exist that night.
    expect(schedule.stateAt(new Date('2026-03-29T01:59:00+01:00'))).toBe('closed');
    expect(schedule.stateAt(new Date('2026-03-29T03:00:00+02:00'))).toBe('closed');
    expect(schedule.stateAt(new Date('2026-03-29T06:59:00+02:00'))).toBe('closed');
    expect(schedule.stateAt(new Date('2026-03-29T07:00:00+02:00'))).toBe('staffless');
    expect(schedule.nextChange(new Date('2026-03-29T05:00:00+02:00'))).toEqual({
      state: 'staffless',
      at: new Date('2026-03-29T07:00:00+02:00'),
    });
  });

  it('fall back (2026-10-25, 03:00 CEST → 02:00 CET): both 02:xx hours are the configured hour', () => {
    expect(schedule.stateAt(new Date('2026-10-25T02:30:00+02:00'))).toBe('staffless');
    expect(schedule.stateAt(new Date('2026-10-25T02:30:00+01:00'))).toBe('staffless');
    expect(schedule.stateAt(new Date('2026-10-25T07:00:00+01:00'))).toBe('staffless');
    expect(schedule.stateAt(new Date('2026-10-25T06:59:00+01:00'))).toBe('closed');
    expect(schedule.stateAt(new Date('2026-10-25T22:00:00+01:00'))).toBe('closed');
  });

  it('the watcher crosses a DST change on its own timer and lands on local 07:00', async () => {
    const w = running('2026-03-29T06:59:59.800+02:00');
    expect(w.watcher.current()).toBe('closed');
    await waitFor(() => w.modes.at(-1) === 'staffless', 3000, 'staffless at 07:00 CEST');
  });
});
