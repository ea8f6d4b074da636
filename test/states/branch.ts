/** A typical Norwegian branch for the state tests: staffed 10–16 on weekdays, staffless 07–22 every day. */
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { type OutputConfig, outputsOf, statesDefaults } from '../../src/states/config.ts';
import { Zone } from '../../src/time/zone.ts';

export const BRANCH: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00',
  staffless: 'Mo-Su 07:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 10,
  exceptions: [{ date: '2026-12-23', staffless: '07:00-12:00,12:10-22:00' }],
};
export const SITE = { timezone: 'Europe/Oslo', country: 'NO' };

/** Lights off 10 min after closing; the intruder alarm armed 15 min after and disarmed 5 min before opening. */
export const BRANCH_OUTPUTS: OutputConfig[] = outputsOf(
  statesDefaults({
    outputs: [
      {
        id: 'lights',
        gpio: { pin: { chip: 'pinctrl-bcm2711', line: 17 }, active_low: false },
        values: {
          staffed: { value: 'on', offset_minutes: 0 },
          staffless: { value: 'on', offset_minutes: 0 },
          closed: { value: 'off', offset_minutes: 10 },
          emergency: { value: 'on', offset_minutes: 0 },
        },
      },
      {
        id: 'alarm',
        mqtt: { topic: 'building/intruder-alarm/set' },
        values: {
          staffless: { value: 'disarmed', offset_minutes: -5 },
          closed: { value: 'armed', offset_minutes: 15 },
        },
      },
      {
        id: 'panel',
        mqtt: { topic: 'building/panel/text' },
        values: {
          staffed: { value: 'Betjent', offset_minutes: 0 },
          staffless: { value: 'Meråpent', offset_minutes: 0 },
          closing: { value: 'Stenger snart', offset_minutes: 0 },
          closed: { value: 'Stengt', offset_minutes: 0 },
          emergency: { value: 'Stengt: nødmodus', offset_minutes: 0 },
        },
      },
    ],
  }),
);

const oslo = new Zone('Europe/Oslo');

/** `HH:MM` in Oslo, with the date when it is not `day`. */
export function local(at: number, day?: string): string {
  const w = oslo.wall(at);
  const hm = `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
  const key = `${w.year}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
  return day === undefined || key === day ? hm : `${key} ${hm}`;
}
