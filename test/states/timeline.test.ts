import { describe, expect, it } from 'vitest';
import { LibraryPlanner, scheduleFromConfig } from '../../src/schedule/planner.ts';
import { planTimeline } from '../../src/states/timeline.ts';
import { BRANCH, BRANCH_OUTPUTS, local, SITE } from './branch.ts';

const plans = new LibraryPlanner(BRANCH, SITE);

/** The timeline over `[from, to)` with the branch's outputs, closing 15 min and announcements 15/10/5. */
function timeline(from: string, to: string, day: string) {
  const t = planTimeline({
    plans,
    timezone: SITE.timezone,
    closing: { minutes: 15, before: ['closed'] },
    outputs: BRANCH_OUTPUTS,
    announceMinutes: [15, 10, 5],
    from: Date.parse(from),
    to: Date.parse(to),
  });
  return {
    periods: t.periods.map((p) => `${local(p.from, day)} ${p.state}`),
    outputs: t.outputs.map((c) => `${local(c.at, day)} ${c.output}=${c.value}`),
    announcements: t.announcements.map((a) => `${local(a.at, day)} ${a.minutes} min`),
    raw: t,
  };
}

describe('DoorSchedule.changesBetween', () => {
  it('gives what nextChange gives, change by change (both DST changes, Easter, Christmas)', () => {
    const schedule = scheduleFromConfig(
      {
        ...BRANCH,
        exceptions: [...BRANCH.exceptions, { date: '2026-03-29', staffless: '00:00-02:30,07:00-22:00' }],
      },
      SITE,
    );
    for (const [fromIso, toIso] of [
      ['2026-03-26T00:00:00+01:00', '2026-04-08T00:00:00+02:00'],
      ['2026-10-22T00:00:00+02:00', '2026-10-28T00:00:00+01:00'],
      ['2026-12-22T00:00:00+01:00', '2027-01-03T00:00:00+01:00'],
    ] as const) {
      const from = Date.parse(fromIso);
      const to = Date.parse(toIso);
      const stepped: string[] = [];
      for (
        let c = schedule.nextChange(new Date(from));
        c && c.at.getTime() <= to;
        c = schedule.nextChange(c.at)
      )
        stepped.push(`${c.at.toISOString()} ${c.state}`);
      const all = schedule
        .changesBetween(new Date(from), new Date(to))
        .map((c) => `${c.at.toISOString()} ${c.state}`);
      expect(all.length).toBeGreaterThan(10);
      expect(all, fromIso).toEqual(stepped);
    }
  });
});

describe('the output timeline (day plans + config → changes), pure', () => {
  it('a weekday at a typical branch: each output at its own offset', () => {
    const t = timeline('2026-11-25T00:00:00+01:00', '2026-11-26T00:00:00+01:00', '2026-11-25');
    expect(t.periods).toEqual([
      '00:00 closed',
      '07:00 staffless',
      '10:00 staffed',
      '16:00 staffless',
      '21:45 closing',
      '22:00 closed',
    ]);
    expect(t.outputs).toEqual([
      // The window starts inside a closed period: its values hold from the start.
      '00:00 lights=off',
      '00:00 alarm=armed',
      '00:00 panel=Stengt',
      '06:55 alarm=disarmed',
      '07:00 lights=on',
      '07:00 panel=Meråpent',
      '10:00 lights=on',
      '10:00 panel=Betjent',
      // Five minutes before staffless hours, whatever came before them.
      '15:55 alarm=disarmed',
      '16:00 lights=on',
      '16:00 panel=Meråpent',
      '21:45 panel=Stenger snart',
      '22:00 panel=Stengt',
      '22:10 lights=off',
      '22:15 alarm=armed',
    ]);
    expect(t.announcements).toEqual(['21:45 15 min', '21:50 10 min', '21:55 5 min']);
  });

  it('closing also before staffless when asked, and not at all with 0 minutes', () => {
    const both = planTimeline({
      plans,
      timezone: SITE.timezone,
      closing: { minutes: 15, before: ['closed', 'staffless'] },
      outputs: [],
      announceMinutes: [],
      from: Date.parse('2026-11-25T00:00:00+01:00'),
      to: Date.parse('2026-11-26T00:00:00+01:00'),
    });
    expect(both.periods.map((p) => `${local(p.from)} ${p.state}`)).toEqual([
      '00:00 closed',
      '07:00 staffless',
      '10:00 staffed',
      '15:45 closing',
      '16:00 staffless',
      '21:45 closing',
      '22:00 closed',
    ]);
    const none = planTimeline({
      plans,
      timezone: SITE.timezone,
      closing: { minutes: 0, before: ['closed'] },
      outputs: [],
      announceMinutes: [],
      from: Date.parse('2026-11-25T00:00:00+01:00'),
      to: Date.parse('2026-11-26T00:00:00+01:00'),
    });
    expect(none.periods.map((p) => p.state)).not.toContain('closing');
  });

  it('DST, spring: offsets are real minutes, and the evening follows the new UTC offset', () => {
    // Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST. Staffless hours end 22:00 CEST = 20:00Z.
    const t = timeline('2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', '2026-03-29');
    expect(t.outputs.filter((o) => !o.startsWith('00:00'))).toEqual([
      '06:55 alarm=disarmed',
      '07:00 lights=on',
      '07:00 panel=Meråpent',
      '21:45 panel=Stenger snart',
      '22:00 panel=Stengt',
      '22:10 lights=off',
      '22:15 alarm=armed',
    ]);
    const lightsOff = t.raw.outputs.filter((o) => o.output === 'lights' && o.value === 'off').at(-1);
    expect(new Date(lightsOff!.at).toISOString()).toBe('2026-03-29T20:10:00.000Z');
    expect(new Date(t.raw.announcements[0]!.at).toISOString()).toBe('2026-03-29T19:45:00.000Z');
  });

  it('DST, spring: an offset across the missing hour counts real minutes', () => {
    // A night that closes at 01:30 CET; the alarm arms 45 real minutes later, at 03:15 CEST (01:15Z).
    const night = new LibraryPlanner(
      { ...BRANCH, exceptions: [{ date: '2026-03-29', staffless: '00:00-01:30,07:00-22:00' }] },
      SITE,
    );
    const t = planTimeline({
      plans: night,
      timezone: SITE.timezone,
      closing: { minutes: 15, before: ['closed'] },
      outputs: [
        { id: 'alarm', mqtt: { topic: 'a' }, values: { closed: { value: 'armed', offset_minutes: 45 } } },
      ],
      announceMinutes: [15],
      from: Date.parse('2026-03-28T23:00:00Z'),
      to: Date.parse('2026-03-29T12:00:00Z'),
    });
    expect(t.outputs.map((o) => new Date(o.at).toISOString())).toEqual(['2026-03-29T01:15:00.000Z']);
    expect(local(t.outputs[0]!.at)).toBe('03:15');
    expect(t.announcements.map((a) => new Date(a.at).toISOString())).toEqual(['2026-03-29T00:15:00.000Z']);
  });

  it('DST, autumn: the evening of the long day closes at 22:00 CET = 21:00Z', () => {
    // Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET.
    const t = timeline('2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', '2026-10-25');
    const iso = (name: string) =>
      t.raw.outputs
        .filter((o) => o.output === name && o.at > Date.parse('2026-10-25T12:00:00Z'))
        .map((o) => new Date(o.at).toISOString());
    expect(iso('lights')).toEqual(['2026-10-25T21:10:00.000Z']);
    expect(iso('alarm')).toEqual(['2026-10-25T21:15:00.000Z']);
    expect(t.periods).toEqual(['00:00 closed', '07:00 staffless', '21:45 closing', '22:00 closed']);
  });

  it('a holiday: Christmas Day and Boxing Day stay closed, the alarm armed, no announcements', () => {
    const t = timeline('2026-12-24T00:00:00+01:00', '2026-12-28T00:00:00+01:00', '2026-12-24');
    expect(t.periods).toEqual([
      '00:00 closed',
      '07:00 staffless',
      '10:00 staffed',
      '16:00 staffless',
      '21:45 closing',
      '22:00 closed',
      '2026-12-27 07:00 staffless',
      '2026-12-27 21:45 closing',
      '2026-12-27 22:00 closed',
    ]);
    const between = t.raw.outputs.filter(
      (o) => o.at > Date.parse('2026-12-24T22:15:00+01:00') && o.at < Date.parse('2026-12-27T06:00:00+01:00'),
    );
    expect(between).toEqual([]);
    expect(t.announcements).toEqual([
      '21:45 15 min',
      '21:50 10 min',
      '21:55 5 min',
      '2026-12-27 21:45 15 min',
      '2026-12-27 21:50 10 min',
      '2026-12-27 21:55 5 min',
    ]);
  });

  it('a setting whose period ends first is never applied (a ten-minute closed gap at noon)', () => {
    const t = timeline('2026-12-23T06:00:00+01:00', '2026-12-23T13:00:00+01:00', '2026-12-23');
    expect(t.periods).toEqual([
      '06:00 closed',
      '07:00 staffless',
      '11:45 closing',
      '12:00 closed',
      '12:10 staffless',
    ]);
    // Lights off (+10) and arming (+15) would fall after 12:10, when the site is open again.
    expect(t.outputs.filter((o) => o > '07:00 z')).toEqual([
      '11:45 panel=Stenger snart',
      '12:00 panel=Stengt',
      '12:05 alarm=disarmed',
      '12:10 lights=on',
      '12:10 panel=Meråpent',
    ]);
    expect(t.announcements).toEqual(['11:45 15 min', '11:50 10 min', '11:55 5 min']);
  });
});
