import { afterEach, describe, expect, it } from 'vitest';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { EventBus } from '../../src/events/bus.ts';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { LibraryPlanner, scheduleFromConfig } from '../../src/schedule/planner.ts';
import { DoorSchedule } from '../../src/schedule/schedule.ts';
import { ScheduleWatcher } from '../../src/schedule/watcher.ts';
import { waitFor } from '../helpers/ports.ts';

const LIBRARY: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00; Sa 10:00-14:00',
  staffless: 'Mo-Su 07:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 10,
  exceptions: [],
};
const schedule = scheduleFromConfig(LIBRARY, { timezone: 'Europe/Oslo', country: 'NO' });

const watchers: ScheduleWatcher[] = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.stop();
});

/** A watcher on a clock the test moves by hand; the tick is long so only explicit evaluations count. */
function setup(startIso: string, tickMs = 3_600_000) {
  const bus = new EventBus();
  const events: DorvaktEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const clock = { now: new Date(startIso) };
  const watcher = new ScheduleWatcher({ door: 'main', schedule, bus, now: () => clock.now, tickMs });
  watchers.push(watcher);
  const set = (iso: string) => {
    clock.now = new Date(iso);
    watcher.evaluate();
  };
  const summary = () =>
    events.map((e) =>
      e.type === 'mode'
        ? `mode ${e.mode} next=${e.next?.mode}@${e.next?.at}`
        : e.type === 'closing_soon'
          ? `closing_soon ${e.minutes}min @${e.at}`
          : e.type,
    );
  return { bus, events, clock, watcher, set, summary };
}

describe('ScheduleWatcher with an injected clock', () => {
  it('publishes the mode at start, then each change, and closing_soon once per staffless period', () => {
    const t = setup('2026-11-25T08:00:00+01:00'); // Wednesday, staffless
    t.watcher.start();
    expect(t.watcher.current()).toBe('staffless');
    expect(t.watcher.next()).toEqual({ state: 'staffed', at: new Date('2026-11-25T10:00:00+01:00') });

    t.set('2026-11-25T10:00:00+01:00');
    t.set('2026-11-25T12:00:00+01:00'); // nothing new
    t.set('2026-11-25T16:00:01+01:00');
    t.set('2026-11-25T21:50:00+01:00'); // warning window opens
    t.set('2026-11-25T21:55:00+01:00'); // still the same period: no second warning
    t.set('2026-11-25T22:00:00+01:00');
    expect(t.summary()).toEqual([
      'mode staffless next=staffed@2026-11-25T09:00:00.000Z',
      'mode staffed next=staffless@2026-11-25T15:00:00.000Z',
      'mode staffless next=closed@2026-11-25T21:00:00.000Z',
      'closing_soon 10min @2026-11-25T21:00:00.000Z',
      'mode closed next=staffless@2026-11-26T06:00:00.000Z',
    ]);
    const first = t.events[0];
    expect(first).toMatchObject({ type: 'mode', door: 'main', ts: '2026-11-25T07:00:00.000Z' });
    expect(t.watcher.current()).toBe('closed');
    expect(t.watcher.closingSoon()).toBeNull();
  });

  it('copes with the clock jumping backwards and forwards', () => {
    const t = setup('2026-11-25T21:52:00+01:00');
    t.watcher.start(); // staffless, already inside the warning window
    t.set('2026-11-25T20:00:00+01:00'); // NTP step back 1 h 52 min: same mode, no new events
    t.set('2026-11-25T21:51:00+01:00'); // back in the window: already warned for this period
    t.set('2026-11-25T09:00:00+01:00'); // big step back into the morning: still staffless
    t.set('2026-11-25T06:00:00+01:00'); // before opening: closed
    t.set('2026-11-28T12:00:00+01:00'); // forward to Saturday noon: staffed
    t.set('2026-11-29T21:58:00+01:00'); // forward to Sunday evening: staffless and closing soon (new period)
    t.set('2026-11-29T21:30:00+01:00'); // back again: no repeat
    expect(t.summary()).toEqual([
      'mode staffless next=closed@2026-11-25T21:00:00.000Z',
      'closing_soon 8min @2026-11-25T21:00:00.000Z',
      'mode closed next=staffless@2026-11-25T06:00:00.000Z',
      'mode staffed next=staffless@2026-11-28T13:00:00.000Z',
      'mode staffless next=closed@2026-11-29T21:00:00.000Z',
      'closing_soon 2min @2026-11-29T21:00:00.000Z',
    ]);
  });

  it('crosses a holiday: closed for 17. mai, next opening the day after', () => {
    const t = setup('2026-05-16T21:59:00+02:00'); // Saturday evening before 17. mai (Sunday)
    t.watcher.start();
    t.set('2026-05-16T22:00:00+02:00');
    t.set('2026-05-17T12:00:00+02:00');
    t.set('2026-05-18T07:00:00+02:00');
    expect(t.summary()).toEqual([
      'mode staffless next=closed@2026-05-16T20:00:00.000Z',
      'closing_soon 1min @2026-05-16T20:00:00.000Z',
      'mode closed next=staffless@2026-05-18T05:00:00.000Z',
      'mode staffless next=staffed@2026-05-18T08:00:00.000Z',
    ]);
  });

  it.each([
    ['spring forward', '2026-03-28T21:59:00+01:00', '2026-03-29T03:30:00+02:00', '2026-03-29T07:00:00+02:00'],
    ['fall back', '2026-10-24T21:59:00+02:00', '2026-10-25T02:30:00+01:00', '2026-10-25T07:00:00+01:00'],
  ])(
    'across the DST night (%s): closes at 22:00, opens at 07:00 local',
    (_label, evening, night, morning) => {
      const t = setup(evening);
      t.watcher.start();
      t.set(night);
      t.set(morning);
      expect(t.events.map((e) => (e.type === 'mode' ? `${e.mode}@${e.ts}` : e.type))).toEqual([
        `staffless@${new Date(evening).toISOString()}`,
        'closing_soon',
        `closed@${new Date(night).toISOString()}`,
        `staffless@${new Date(morning).toISOString()}`,
      ]);
      expect(t.events[2]).toMatchObject({ next: { mode: 'staffless', at: new Date(morning).toISOString() } });
    },
  );

  it('current() and next() evaluate on first use even before start()', () => {
    const t = setup('2026-11-25T12:00:00+01:00');
    expect(t.watcher.current()).toBe('staffed');
    expect(t.watcher.next()?.state).toBe('staffless');
  });
});

describe('ScheduleWatcher on its own timers (no manual evaluate)', () => {
  /** A clock that runs in real time from `startMs`, and can be stepped. */
  function runningClock(startMs: number) {
    const realStart = Date.now();
    let offset = 0;
    return {
      now: () => new Date(startMs + offset + (Date.now() - realStart)),
      jump: (ms: number) => {
        offset += ms;
      },
    };
  }

  it('the armed timer switches the mode at the change', async () => {
    const change = Date.parse('2026-11-25T22:00:00+01:00');
    const clock = runningClock(change - 150);
    const bus = new EventBus();
    const modes: string[] = [];
    bus.subscribe((e) => e.type === 'mode' && modes.push(e.mode));
    const watcher = new ScheduleWatcher({ door: 'main', schedule, bus, now: clock.now, tickMs: 3_600_000 });
    watchers.push(watcher);
    watcher.start();
    await waitFor(() => modes.length === 2, 5000, 'the timer-driven mode change');
    expect(modes).toEqual(['staffless', 'closed']);
  });

  it('the armed timer raises closing_soon when the window opens', async () => {
    const windowOpens = Date.parse('2026-11-25T21:50:00+01:00');
    const clock = runningClock(windowOpens - 150);
    const bus = new EventBus();
    const events: DorvaktEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const watcher = new ScheduleWatcher({ door: 'main', schedule, bus, now: clock.now, tickMs: 3_600_000 });
    watchers.push(watcher);
    watcher.start();
    const warning = await waitFor(() => events.find((e) => e.type === 'closing_soon'), 5000, 'closing_soon');
    expect(warning).toMatchObject({ minutes: 10, at: '2026-11-25T21:00:00.000Z' });
  });

  it('the tick notices a wall-clock jump that no timer was aimed at', async () => {
    const clock = runningClock(Date.parse('2026-11-25T12:00:00+01:00'));
    const bus = new EventBus();
    const modes: string[] = [];
    bus.subscribe((e) => e.type === 'mode' && modes.push(e.mode));
    const watcher = new ScheduleWatcher({ door: 'main', schedule, bus, now: clock.now, tickMs: 20 });
    watchers.push(watcher);
    watcher.start();
    expect(modes).toEqual(['staffed']);
    clock.jump(-8 * 3_600_000); // 04:00: closed; the armed timer still points at 16:00
    await waitFor(() => modes.length === 2, 5000, 'the tick to see the jump');
    clock.jump(13 * 3_600_000 + 30 * 60_000); // 17:30: staffless
    await waitFor(() => modes.length === 3, 5000, 'the tick to see the jump forward');
    expect(modes).toEqual(['staffed', 'closed', 'staffless']);
  });
});

describe('ScheduleWatcher lifecycle', () => {
  it('current() before start() does not publish; start() always announces the mode', () => {
    const t = setup('2026-11-25T12:00:00+01:00');
    expect(t.watcher.current()).toBe('staffed');
    expect(t.events).toEqual([]);
    t.watcher.start();
    t.watcher.stop();
    t.watcher.start(); // a restart announces again, for subscribers that came since
    expect(t.summary()).toEqual([
      'mode staffed next=staffless@2026-11-25T15:00:00.000Z',
      'mode staffed next=staffless@2026-11-25T15:00:00.000Z',
    ]);
  });

  it('a failing timed evaluation goes to onError and the tick keeps going', async () => {
    class FlakySchedule extends DoorSchedule {
      failures = 0;
      override stateAt(date: Date) {
        if (this.failures < 2) {
          this.failures++;
          throw new Error('injected failure');
        }
        return super.stateAt(date);
      }
    }
    const flaky = new FlakySchedule(new LibraryPlanner(LIBRARY, { timezone: 'Europe/Oslo', country: 'NO' }), {
      timezone: 'Europe/Oslo',
      closingSoonMinutes: 10,
    });
    flaky.failures = 2; // start() evaluates synchronously and must succeed
    const bus = new EventBus();
    const modes: string[] = [];
    bus.subscribe((e) => e.type === 'mode' && modes.push(e.mode));
    let clock = new Date('2026-11-25T12:00:00+01:00');
    const errors: unknown[] = [];
    const watcher = new ScheduleWatcher({
      door: 'main',
      schedule: flaky,
      bus,
      now: () => clock,
      tickMs: 20,
      onError: (err) => errors.push(err),
    });
    watchers.push(watcher);
    watcher.start();
    flaky.failures = 0; // the next two timed evaluations throw
    clock = new Date('2026-11-25T18:00:00+01:00');
    await waitFor(() => modes.length === 2, 5000, 'recovery after injected failures');
    expect(errors.map(String)).toEqual(['Error: injected failure', 'Error: injected failure']);
    expect(modes).toEqual(['staffed', 'staffless']);
  });
});
