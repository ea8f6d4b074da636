import { tzOffsetMs, zoneNamed } from '../time/zone.ts';
import { LOCALES } from './i18n.ts';
import type { Language } from './users.ts';

// Building an Intl.DateTimeFormat costs far more than using one: keep one per zone and language.
const formatters = new Map<string, Intl.DateTimeFormat>();
function cached(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = make();
    formatters.set(key, formatter);
  }
  return formatter;
}

/** A wall-clock time in a zone (`YYYY-MM-DD`, optional `HH:MM`) as UTC milliseconds; undefined when malformed. */
export function localToUtc(date: string, time: string | undefined, timeZone: string): number | undefined {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})$/.exec(time ?? '00:00');
  if (!d || !t) return undefined;
  const guess = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]));
  if (Number.isNaN(guess)) return undefined;
  // Two passes settle the offset across a DST change.
  const first = guess - tzOffsetMs(timeZone, guess);
  return guess - tzOffsetMs(timeZone, first);
}

/** `YYYY-MM-DD` of an instant in a zone. */
export function localDate(instant: number, timeZone: string): string {
  return zoneNamed(timeZone).localDay(instant).key;
}

export function startOfLocalDay(instant: number, timeZone: string): number {
  return localToUtc(localDate(instant, timeZone), undefined, timeZone)!;
}

export function formatDateTime(
  value: number | string | null | undefined,
  language: Language,
  timeZone: string,
): string {
  if (value === null || value === undefined || value === '') return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return cached(
    `show|${language}|${timeZone}`,
    () => new Intl.DateTimeFormat(LOCALES[language], { timeZone, dateStyle: 'short', timeStyle: 'medium' }),
  ).format(date);
}
