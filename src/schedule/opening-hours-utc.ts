import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { runInThisContext } from 'node:vm';
import type OpeningHours from 'opening_hours';

/**
 * opening_hours reads and builds Dates with the process's local-time methods (getHours, new Date(y, m, d)…),
 * so its answers depend on the machine's TZ, and on a machine whose own zone has DST it cannot even
 * express a time inside that zone's skipped hour. This loads the package's CommonJS build with `Date`
 * bound to a subclass whose local-time methods are the UTC ones. It then works on "wall-clock Dates":
 * instants whose UTC fields spell the site's wall clock. No DST exists in that frame, and the result is
 * the same whatever TZ the process runs with.
 */
const RealDate = Date;

class WallClockDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super();
    else if (args.length === 1) super(args[0] as number | string | Date);
    else super(RealDate.UTC(...(args as [number, number, ...number[]])));
  }
  override getFullYear(): number {
    return this.getUTCFullYear();
  }
  override getMonth(): number {
    return this.getUTCMonth();
  }
  override getDate(): number {
    return this.getUTCDate();
  }
  override getDay(): number {
    return this.getUTCDay();
  }
  override getHours(): number {
    return this.getUTCHours();
  }
  override getMinutes(): number {
    return this.getUTCMinutes();
  }
  override getSeconds(): number {
    return this.getUTCSeconds();
  }
  override getMilliseconds(): number {
    return this.getUTCMilliseconds();
  }
  override getTimezoneOffset(): number {
    return 0;
  }
  override setFullYear(...args: [number, number?, number?]): number {
    return this.setUTCFullYear(...(args as [number]));
  }
  override setMonth(...args: [number, number?]): number {
    return this.setUTCMonth(...(args as [number]));
  }
  override setDate(date: number): number {
    return this.setUTCDate(date);
  }
  override setHours(...args: [number, number?, number?, number?]): number {
    return this.setUTCHours(...(args as [number]));
  }
  override setMinutes(...args: [number, number?, number?]): number {
    return this.setUTCMinutes(...(args as [number]));
  }
  override setSeconds(...args: [number, number?]): number {
    return this.setUTCSeconds(...(args as [number]));
  }
  override setMilliseconds(ms: number): number {
    return this.setUTCMilliseconds(ms);
  }
}

function load(): typeof OpeningHours {
  const here = createRequire(import.meta.url);
  const file = here.resolve('opening_hours');
  const source = readFileSync(file, 'utf8');
  // The same wrapper Node's CommonJS loader uses, plus `Date`.
  const factory = runInThisContext(
    `(function (exports, require, module, __filename, __dirname, Date) {${source}\n})`,
    {
      filename: file,
    },
  ) as (...args: unknown[]) => void;
  const module = { exports: {} as unknown };
  factory(module.exports, createRequire(file), module, file, '', WallClockDate);
  const exported = module.exports as typeof OpeningHours | { default: typeof OpeningHours };
  return typeof exported === 'function' ? exported : exported.default;
}

/** The opening_hours class, reading wall-clock Dates (see above). */
export const OpeningHoursUtc: typeof OpeningHours = load();

/** A wall-clock Date for `ms` since midnight of a local day. */
export function wallClockDate(year: number, month: number, day: number, ms = 0): Date {
  return new WallClockDate(RealDate.UTC(year, month - 1, day) + ms);
}
