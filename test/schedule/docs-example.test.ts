import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { buildDoorSchedules } from '../../src/schedule/planner.ts';

describe('docs/schedule.md', () => {
  it('the example configuration builds and behaves as the text says', () => {
    const text = readFileSync(new URL('../../docs/schedule.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    expect(yaml).toBeDefined();
    const config = parse(yaml!) as {
      site: { timezone: string; country: string };
      doors: { id: string; schedule: ScheduleConfig }[];
    };
    const s = buildDoorSchedules(config.doors, config.site).get('main')!;
    const span = (list: { from: string; to: string }[]) => list.map((p) => `${p.from}-${p.to}`).join(',');
    const day = (date: string) => {
      const d = s.day(date);
      return `${span(d.staffed)} | ${span(d.staffless)}`;
    };
    expect(day('2026-11-18')).toBe('10:00-16:00 | 07:00-22:00'); // an ordinary Wednesday
    expect(day('2026-11-21')).toBe('10:00-14:00 | 07:00-22:00'); // Saturday
    expect(day('2026-11-22')).toBe(' | 07:00-22:00'); // Sunday
    expect(day('2026-11-25')).toBe(' | '); // staff training
    expect(day('2026-05-17')).toBe(' | 10:00-14:00'); // parade
    expect(day('2026-12-24')).toBe('10:00-13:00 | 07:00-10:00,13:00-15:00');
    expect(day('2026-12-25')).toBe(' | '); // holiday
    expect(s.stateAt(new Date('2026-11-18T16:30:00+01:00'))).toBe('staffless');
  });
});
