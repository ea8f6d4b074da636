/** Run in a child process with a chosen TZ; prints what the schedule says about DST-sensitive moments. */
import { scheduleFromConfig } from '../../src/schedule/planner.ts';

export function probe(): string[] {
  const site = { timezone: 'Europe/Oslo', country: 'NO' };
  const schedules = [
    scheduleFromConfig(
      {
        staffed: 'Mo-Fr 10:00-16:00',
        staffless: 'Mo-Su 06:00-23:00',
        holidays_closed: true,
        closing_soon_minutes: 10,
        exceptions: [],
      },
      site,
    ),
    scheduleFromConfig(
      {
        staffed: '',
        staffless: 'Mo-Su 02:30-04:00',
        holidays_closed: true,
        closing_soon_minutes: 10,
        exceptions: [],
      },
      site,
    ),
  ];
  const out: string[] = [];
  for (const s of schedules) {
    // Every 20 minutes across both Oslo transitions and the New York ones.
    for (const start of [
      '2026-03-07T20:00:00Z',
      '2026-03-28T20:00:00Z',
      '2026-10-24T20:00:00Z',
      '2026-10-31T20:00:00Z',
    ]) {
      for (let i = 0; i < 36; i++) {
        const at = new Date(Date.parse(start) + i * 20 * 60_000);
        const next = s.nextChange(at);
        out.push(`${at.toISOString()} ${s.stateAt(at)} ${next?.state}@${next?.at.toISOString()}`);
      }
    }
  }
  return out;
}

if (process.argv[1]?.endsWith('tz-probe.ts')) process.stdout.write(JSON.stringify(probe()));
