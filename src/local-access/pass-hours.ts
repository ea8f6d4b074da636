/**
 * A pass's own weekly hours, in a small subset of OSM opening_hours syntax: `Mo-Fr 06:00-08:00; Sa 07:00-09:00`,
 * `Mo,We 06:00-08:00,17:00-19:00`, `Mo-Su 22:00-06:00` (past midnight: the early part belongs to the day
 * named), `24/7`. Parsed here, not by the opening_hours library, which the door process never loads.
 */
import type { WallTime } from '../time/zone.ts';

/** One span: days 1 (Monday) … 7 (Sunday), minutes from local midnight; `to <= from` runs past midnight. */
export interface PassSpan {
  days: number[];
  from: number;
  to: number;
}

export class PassHoursError extends Error {
  override name = 'PassHoursError';
}

const DAY_NAMES = ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'] as const;
const MAX_LENGTH = 200;

function dayNumber(name: string): number {
  const index = DAY_NAMES.indexOf(name as (typeof DAY_NAMES)[number]);
  if (index < 0) throw new PassHoursError(`unknown day "${name}" (use Mo Tu We Th Fr Sa Su)`);
  return index + 1;
}

function minutesOf(text: string, isEnd: boolean): number {
  const match = /^(\d{2}):(\d{2})$/.exec(text);
  const hours = Number(match?.[1]);
  const minutes = Number(match?.[2]);
  if (!match || minutes > 59 || hours > 24 || (hours === 24 && (minutes !== 0 || !isEnd)))
    throw new PassHoursError(`"${text}" is not a time HH:MM`);
  return hours * 60 + minutes;
}

export function parsePassHours(text: string): PassSpan[] {
  const source = text.trim();
  if (source.length === 0 || source.length > MAX_LENGTH)
    throw new PassHoursError(`hours must be 1–${MAX_LENGTH} characters`);
  if (source === '24/7') return [{ days: [1, 2, 3, 4, 5, 6, 7], from: 0, to: 24 * 60 }];
  const spans: PassSpan[] = [];
  for (const rule of source.split(';').map((r) => r.trim())) {
    const match = /^([A-Za-z,-]+)\s+([\d:,-]+)$/.exec(rule);
    if (!match) throw new PassHoursError(`"${rule}" is not "DAYS HH:MM-HH:MM"`);
    const days = new Set<number>();
    for (const part of match[1]!.split(',')) {
      const [first, last, ...more] = part.split('-');
      if (more.length > 0 || !first) throw new PassHoursError(`"${part}" is not a day or a day range`);
      const a = dayNumber(first);
      const b = last === undefined ? a : dayNumber(last);
      // Fr-Mo wraps over the weekend.
      for (let d = a, n = 0; n < 7; d = (d % 7) + 1, n++) {
        days.add(d);
        if (d === b) break;
      }
    }
    for (const range of match[2]!.split(',')) {
      const [from, to, ...more] = range.split('-');
      if (more.length > 0 || !from || !to) throw new PassHoursError(`"${range}" is not HH:MM-HH:MM`);
      const span = {
        days: [...days].sort((x, y) => x - y),
        from: minutesOf(from, false),
        to: minutesOf(to, true),
      };
      if (span.from === span.to) throw new PassHoursError(`"${range}" is empty`);
      spans.push(span);
    }
  }
  return spans;
}

/** Whether a local wall time falls inside the spans. */
export function insidePassHours(spans: readonly PassSpan[], wall: WallTime): boolean {
  const weekday = ((new Date(Date.UTC(wall.year, wall.month - 1, wall.day)).getUTCDay() + 6) % 7) + 1;
  const yesterday = ((weekday + 5) % 7) + 1;
  const minute = wall.hour * 60 + wall.minute;
  for (const span of spans) {
    if (span.to > span.from) {
      if (span.days.includes(weekday) && minute >= span.from && minute < span.to) return true;
    } else {
      if (span.days.includes(weekday) && minute >= span.from) return true;
      if (span.days.includes(yesterday) && minute < span.to) return true;
    }
  }
  return false;
}
