import Holidays from 'date-holidays';
import type { PublicHoliday } from './day-plan.ts';

/**
 * Public holidays (date-holidays type `public` only) for one country/region. Days of type `bank`,
 * `observance` or `optional` (e.g. Julaften, Nyttårsaften, DK Grundlovsdag) are ordinary days here.
 */
export class PublicHolidays {
  private readonly hd: Holidays;
  private readonly byYear = new Map<number, Map<string, PublicHoliday>>();

  /** Throws when the country or region is unknown to date-holidays. */
  constructor(
    readonly country: string,
    readonly region?: string | undefined,
  ) {
    const countries = new Holidays().getCountries();
    if (!Object.hasOwn(countries, country)) {
      throw new Error(`site.country "${country}" is not known to date-holidays`);
    }
    if (region !== undefined) {
      const states = new Holidays().getStates(country) ?? {};
      if (!Object.hasOwn(states, region)) {
        const known = Object.keys(states);
        throw new Error(
          `site.region "${region}" is not a region of ${country} in date-holidays` +
            (known.length ? ` (known: ${known.join(', ')})` : ` (${country} has no regions; leave it out)`),
        );
      }
      this.hd = new Holidays(country, region);
    } else {
      this.hd = new Holidays(country);
    }
  }

  /** The public holiday on a local date, if any. */
  on(date: string): PublicHoliday | undefined {
    return this.forYear(Number(date.slice(0, 4))).get(date);
  }

  forYear(year: number): Map<string, PublicHoliday> {
    let days = this.byYear.get(year);
    if (!days) {
      days = new Map();
      for (const h of this.hd.getHolidays(year)) {
        if (h.type !== 'public') continue;
        // `date` is local wall time "YYYY-MM-DD hh:mm:ss", independent of the process's zone.
        const date = h.date.slice(0, 10);
        const [hh, mm] = h.date.slice(11, 16).split(':').map(Number);
        const startMs = ((hh ?? 0) * 60 + (mm ?? 0)) * 60_000;
        const earlier = days.get(date);
        if (!earlier || startMs < earlier.startMs) days.set(date, { date, name: h.name, startMs });
      }
      this.byYear.set(year, days);
    }
    return days;
  }
}
