/**
 * Wall-clock arithmetic in IANA time zones, independent of the process's TZ: the one place that asks Intl
 * (schedule, statistics, dashboard and the access gate all use it). Instants are epoch milliseconds; a local
 * day is a `YYYY-MM-DD` key; a time of day is ms since local midnight.
 */

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

/** Parses `YYYY-MM-DD` into its parts, or undefined when it is not a real calendar date. */
export function parseDateKey(key: string): { year: number; month: number; day: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  return { year, month, day };
}

export function dateKey(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Calendar arithmetic on day keys (no time zone involved). */
export function addDays(key: string, days: number): string {
  const p = parseDateKey(key);
  if (!p) throw new Error(`not a date: ${key}`);
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day + days));
  return dateKey(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

/** Where `Zone.wall` may work out the wall clock itself (years 1000–9998). */
const FAST_FROM = Date.UTC(1000, 0, 1);
const FAST_UNTIL = Date.UTC(9999, 0, 1);

export class Zone {
  private readonly fmt: Intl.DateTimeFormat;

  /** Throws a RangeError for an unknown zone name. */
  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** UTC hour → the offset that holds for all of it, or null where it changes within the hour. Bounded. */
  private readonly hourOffsets = new Map<number, number | null>();

  wall(instant: number): WallTime {
    // Intl names years before 1 by era: far instants are left to it.
    if (!(instant >= FAST_FROM && instant < FAST_UNTIL)) return this.askIntl(instant);
    // Asking Intl is slow on a swipe's cold CPU (README, figures); the offset seldom changes: keep it per hour.
    const hour = Math.floor(instant / HOUR_MS);
    let offset = this.hourOffsets.get(hour);
    if (offset === undefined) {
      if (this.hourOffsets.size >= 256) this.hourOffsets.clear();
      const start = hour * HOUR_MS;
      // Real zones never change offset twice within an hour, and change it on a whole second: the same offset at
      // the hour's first and last second holds all through it.
      const first = this.offset(start);
      offset = first === this.offset(start + HOUR_MS - 1000) ? first : null;
      this.hourOffsets.set(hour, offset);
    }
    if (offset === null) return this.askIntl(instant);
    const local = new Date(instant + offset);
    return {
      year: local.getUTCFullYear(),
      month: local.getUTCMonth() + 1,
      day: local.getUTCDate(),
      hour: local.getUTCHours(),
      minute: local.getUTCMinutes(),
      second: local.getUTCSeconds(),
      ms: local.getUTCMilliseconds(),
    };
  }

  private askIntl(instant: number): WallTime {
    const parts = this.fmt.formatToParts(new Date(instant));
    const get = (type: Intl.DateTimeFormatPartTypes): number => {
      const part = parts.find((p) => p.type === type);
      return part ? Number(part.value) : 0;
    };
    return {
      year: get('year'),
      month: get('month'),
      day: get('day'),
      hour: get('hour') % 24,
      minute: get('minute'),
      second: get('second'),
      ms: ((instant % 1000) + 1000) % 1000,
    };
  }

  /** Local day key and ms since local midnight for an instant. */
  localDay(instant: number): { key: string; msOfDay: number } {
    const w = this.wall(instant);
    return {
      key: dateKey(w.year, w.month, w.day),
      msOfDay: w.hour * HOUR_MS + w.minute * 60_000 + w.second * 1000 + w.ms,
    };
  }

  /** UTC offset (local minus UTC) in ms at an instant. */
  offset(instant: number): number {
    const whole = instant - (((instant % 1000) + 1000) % 1000);
    const w = this.askIntl(whole);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
  }

  /** The offsets in force around a local day (one, or two on a DST day); a hint for `instantsOf`. */
  offsetsAround(key: string): number[] {
    const p = parseDateKey(key);
    if (!p) throw new Error(`not a date: ${key}`);
    const midnightAsUtc = Date.UTC(p.year, p.month - 1, p.day);
    return [
      ...new Set([
        this.offset(midnightAsUtc - DAY_MS / 2),
        this.offset(midnightAsUtc + DAY_MS / 2),
        this.offset(midnightAsUtc + (3 * DAY_MS) / 2),
      ]),
    ];
  }

  /**
   * Every instant whose wall clock reads `msOfDay` on local day `key`: none inside a DST gap,
   * two inside a DST overlap, otherwise one. Ascending.
   */
  instantsOf(key: string, msOfDay: number, offsets: number[] = this.offsetsAround(key)): number[] {
    const p = parseDateKey(key);
    if (!p) throw new Error(`not a date: ${key}`);
    const asUtc = Date.UTC(p.year, p.month - 1, p.day) + msOfDay;
    const found = new Set<number>();
    for (const off of offsets) {
      const candidate = asUtc - off;
      if (candidate + this.offset(candidate) === asUtc) found.add(candidate);
    }
    return [...found].sort((a, b) => a - b);
  }

  /** Instants in (from, to] where the offset changes (DST transitions), ascending. */
  transitionsBetween(from: number, to: number): number[] {
    // Real zones never change offset twice within six hours.
    const step = 6 * HOUR_MS;
    const found: number[] = [];
    let prev = from;
    let prevOffset = this.offset(prev);
    while (prev < to) {
      const next = Math.min(prev + step, to);
      const nextOffset = this.offset(next);
      if (nextOffset !== prevOffset) {
        let lo = prev;
        let hi = next;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (this.offset(mid) === prevOffset) lo = mid;
          else hi = mid;
        }
        found.push(hi);
      }
      prev = next;
      prevOffset = nextOffset;
    }
    return found;
  }
}

// An Intl.DateTimeFormat costs far more to build than to use: one Zone per name.
const zones = new Map<string, Zone>();

/** The Zone of an IANA name, cached. Throws a RangeError for an unknown zone. */
export function zoneNamed(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (!zone) {
    zone = new Zone(timeZone);
    zones.set(timeZone, zone);
  }
  return zone;
}

/** UTC offset of a zone at an instant, in ms (local wall clock = instant + offset). */
export function tzOffsetMs(timeZone: string, instant: number): number {
  return zoneNamed(timeZone).offset(instant);
}

/** Throws on a zone Intl does not know, for config checks. */
export function assertTimeZone(timeZone: string): void {
  zoneNamed(timeZone);
}

/** Wall-clock parts of an instant in a zone. */
export function wallClock(at: Date, timeZone: string): WallTime {
  return zoneNamed(timeZone).wall(at.getTime());
}

/** Local date `YYYY-MM-DD` in the zone. */
export function localDate(at: Date, timeZone: string): string {
  return zoneNamed(timeZone).localDay(at.getTime()).key;
}
