/**
 * People-counter passages and this year's opening hours reach the fleet centre (real Mosquitto, real SQLite
 * files, the real schedule compiler): a branch with a counted door and a door without gets, from the centre,
 * the same annual report as its own, line for line. A newer revision of an hour's passages replaces the older
 * at the centre, an older one arriving late changes nothing, and a repeat counts once. The branch's clock is
 * injected (the last day of the year, so every week of it is in the report).
 */
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetFigures } from '../../src/contract/fleet.ts';
import { BranchFleet } from '../../src/fleet/branch.ts';
import { parseFleetConfig } from '../../src/fleet/central-config.ts';
import { openFleetDb } from '../../src/fleet/central-store.ts';
import { FleetCentre } from '../../src/fleet/centre.ts';
import { fleetAnnualReport, fleetReportCsv } from '../../src/fleet/report.ts';
import { createLogger } from '../../src/log/logger.ts';
import { anonymiseEntries } from '../../src/retention/anonymise.ts';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { compilePlans } from '../../src/schedule/compiler.ts';
import { SavedPlans } from '../../src/schedule/saved-plans.ts';
import { computeOpeningHoursOfYear } from '../../src/stats/opening-hours.ts';
import { annualReport, annualReportCsv } from '../../src/stats/report.ts';
import { startOfLocalDay } from '../../src/stats/tz.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { addDays } from '../../src/time/zone.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { branchFleetConfig } from './branch-config.ts';

const TZ = 'Europe/Oslo';
const SITE = { timezone: TZ, country: 'NO' };
const HOUR = 3_600_000;
/** The branch's "now": 12:30 local on the last day of 2026. */
const NOW = Date.parse('2026-12-31T11:30:00Z');
const TODAY = '2026-12-31';
const log = createLogger('silent');

/** Staffed weekdays 10-16, staffless every day 01-22 (both clock changes inside), holidays and exceptions. */
const SCHEDULE: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00',
  staffless: 'Mo-Su 01:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 0,
  exceptions: [{ date: '2026-12-24', staffed: '10:00-13:00', staffless: '07:00-10:00,13:00-15:00' }],
};
const DOORS = [
  { id: 'front', schedule: SCHEDULE },
  { id: 'side', schedule: { ...SCHEDULE, staffless: 'Mo-Su 06:00-21:00' } },
];

const dir = tempDir('fleet-passages-');
let broker: Broker;
let branchDb: Db;
let centreDb: Db;
let centre: FleetCentre;
let fleet: BranchFleet;
const startedAt = Date.now();
/** The injected clock: NOW, going on as the test runs (resends wait for it). */
const clock = () => NOW + (Date.now() - startedAt);

/** The door's mode at a local hour, as the schedule has it on a weekday (what the gate would record). */
const modeAt = (hour: number) =>
  hour >= 10 && hour < 16 ? 'staffed' : hour >= 1 && hour < 22 ? 'staffless' : 'closed';

/** Entries as the gate writes them, at a local day and hour (mode as the door had it). */
function addEntries(day: string, hour: number, door: string, granted: number, denied = 0): void {
  const insert = branchDb.prepare(
    `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
     VALUES (?, ?, ?, ?, ?, ?, 'V', '18-66', 'local')`,
  );
  const mode = modeAt(hour);
  const ts = startOfLocalDay(TZ, day) + hour * HOUR + 7 * 60_000;
  for (let i = 0; i < granted + denied; i++)
    insert.run(
      ts + i,
      door,
      mode,
      i < granted ? 'granted' : 'denied',
      i < granted ? 'allow' : 'no_consent',
      `h${i}`,
    );
}

/** A people counter's hour, as src/occupancy writes it. */
function addPassages(day: string, hour: number, door: string, passagesIn: number, passagesOut: number): void {
  branchDb
    .prepare(
      `INSERT INTO passages_hourly (day, hour, door, mode, passages_in, passages_out) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (day, hour, door, mode) DO UPDATE SET passages_in = passages_in + excluded.passages_in,
         passages_out = passages_out + excluded.passages_out`,
    )
    .run(day, hour, door, modeAt(hour), passagesIn, passagesOut);
}

/** The branch's own report as CSV lines (year, weeks, days: what the centre's report has of a branch). */
async function branchLines(): Promise<string[]> {
  const hours = await computeOpeningHoursOfYear(DOORS, SITE, 2026);
  return annualReportCsv(annualReport(branchDb, 2026, TZ, hours), 'no')
    .split('\r\n')
    .slice(1)
    .filter((l) => l !== '' && !l.startsWith('time,'));
}

async function centreLines(): Promise<string[]> {
  const report = await fleetAnnualReport(centreDb, ['north'], 2026, TZ, async () => {});
  return [...fleetReportCsv(report, 'no')]
    .map((l) => l.replace(/\r\n$/, ''))
    .filter((l) => l.startsWith('north,'))
    .map((l) => l.slice('north,'.length));
}

const passagesAtCentre = (day: string, hour: number) =>
  centreDb
    .prepare(
      'SELECT door, mode, passages_in AS "in", passages_out AS out FROM centre_passages WHERE site = ? AND day = ? AND hour = ?',
    )
    .all('north', day, hour);

beforeAll(async () => {
  broker = await startMosquitto();
  branchDb = openDb(join(dir.path, 'north.sqlite'));
  // The plans the door process saved: two days back to two months ahead.
  const plans = await compilePlans({ doors: DOORS, site: SITE, from: addDays(TODAY, -2), days: 63 });
  new SavedPlans(branchDb, 'test').save(plans, NOW - HOUR);
  // A year of entries at both doors (anonymised where older than 30 days) and passages at the counted door.
  for (let n = 0; n < 365; n += 5) {
    const day = addDays('2026-01-01', n);
    for (const hour of [2, 9, 12, 17, 23]) {
      addEntries(day, hour, 'front', 1 + (n % 4), n % 3);
      addEntries(day, hour, 'side', 2 + (n % 3), 1);
      // The counter sees more than the grants (tailgating, doors held open), and people going out.
      if (n % 10 === 0) addPassages(day, hour, 'front', 3 + (n % 7), 2);
    }
  }
  // The spring and autumn changes (an hour that does not exist; one that comes twice, counted as one).
  addPassages('2026-03-29', 3, 'front', 4, 4);
  addPassages('2026-10-25', 2, 'front', 6, 1);
  addEntries('2026-10-25', 2, 'side', 3);
  // The last hours before now: yesterday evening and this morning.
  addEntries('2026-12-30', 21, 'side', 2);
  addPassages('2026-12-31', 11, 'front', 5, 0);
  anonymiseEntries(branchDb, { identifiedDays: 30, timezone: TZ, now: NOW });

  const config = parseFleetConfig(
    `store: { path: ${join(dir.path, 'fleet.sqlite')} }\nmqtt: { url: "${broker.url}", client_id: centre-passages }\nsites: [{ id: north }]\n`,
    'fleet.yaml',
  );
  centreDb = openFleetDb(config.store.path);
  centre = new FleetCentre({
    config,
    db: centreDb,
    log,
    keys: new Map(),
    mqttOptions: { reconnectPeriod: 100 },
  });
  centre.start();
  await waitFor(() => centre.connected, 5000, 'centre connected');

  fleet = new BranchFleet({
    db: branchDb,
    site: 'north',
    base: 'dorvakt/north',
    timezone: TZ,
    identifiedDays: 30,
    config: branchFleetConfig({
      scan_seconds: 3600,
      send_seconds: 1,
      batch: 500,
      backfill_days: 400,
      health_seconds: 3600,
    }),
    mqttUrl: broker.url,
    mqttOptions: { reconnectPeriod: 100 },
    key: null,
    alarms: { unresolved: () => [], acknowledge: () => false },
    log,
    opening: { doors: DOORS, site: SITE },
    nowMs: clock,
  });
  fleet.start();
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await centre?.stop();
  await broker?.stop();
  branchDb?.close();
  centreDb?.close();
  dir.cleanup();
});

describe('passages and opening hours at the centre', () => {
  it("give the centre the branch's own annual report, line for line", async () => {
    // Every week of the year had days before the link ran (the last one had only today on).
    expect(await fleet.backfillDone).toBe(53);
    await waitFor(() => fleet.outbox.pending() === 0, 30_000, 'everything acknowledged');
    const own = await branchLines();
    // The rule matters here: the counted door's grants are not its visits.
    const report = annualReport(branchDb, 2026, TZ, { weeks: [], year: { staffed: 0, staffless: 0 } });
    expect(report.doors).toEqual([
      { door: 'front', source: 'passages' },
      { door: 'side', source: 'grants' },
    ]);
    expect(own).toHaveLength(1 + 53 + 365);
    expect(await centreLines()).toEqual(own);
    // The first week whole, from Monday 29 December 2025: four staffed weekdays (1 January is a holiday).
    expect(own.find((l) => l.startsWith('uke,2026-W01,'))).toContain(',24.0,');
    // This morning's hour has ended: sent.
    expect(passagesAtCentre('2026-12-31', 11)).toEqual([{ door: 'front', mode: 'staffed', in: 5, out: 0 }]);
  }, 240_000);

  it('replaces an hour by its newer revision, and an older one arriving late changes nothing', async () => {
    const day = '2026-12-27';
    expect(passagesAtCentre(day, 9)).toEqual([{ door: 'front', mode: 'staffless', in: 6, out: 2 }]);
    const firstRevision = branchDb
      .prepare(
        "SELECT payload FROM fleet_outbox WHERE kind = 'figures' AND day = ? AND hour = 9 ORDER BY id DESC LIMIT 1",
      )
      .pluck()
      .get(day) as string;
    // Counts of that hour written after it was sent (the counter's buffered hour): a new revision of the hour.
    addPassages(day, 9, 'front', 4, 1);
    fleet.scan();
    await waitFor(() => fleet.outbox.pending() === 0, 30_000, 'the new revision acknowledged');
    expect(passagesAtCentre(day, 9)).toEqual([{ door: 'front', mode: 'staffless', in: 10, out: 3 }]);
    expect(await centreLines()).toEqual(await branchLines());

    // The first revision, as if it had waited in some queue, arrives under an id the centre has not seen.
    const late = { ...(JSON.parse(firstRevision) as FleetFigures), id: `${fleet.outbox.instance}-999999` };
    const older = centre.counters.older;
    const client = await connectAsync(broker.url);
    await client.publishAsync('dorvakt/north/fleet/figures', JSON.stringify(late), { qos: 1 });
    await client.endAsync();
    await waitFor(() => centre.counters.older === older + 1, 30_000, 'the late revision seen');
    expect(passagesAtCentre(day, 9)).toEqual([{ door: 'front', mode: 'staffless', in: 10, out: 3 }]);
    expect(await centreLines()).toEqual(await branchLines());
  }, 180_000);

  it('counts a repeat delivery once (a lost acknowledgement)', async () => {
    const latest = branchDb
      .prepare(
        "SELECT id, day, hour FROM fleet_outbox WHERE kind = 'figures' AND payload LIKE '%\"passages\":[{%' AND acked_at IS NOT NULL AND superseded_at IS NULL ORDER BY id DESC LIMIT 1",
      )
      .get() as { id: number; day: string; hour: number };
    const held = passagesAtCentre(latest.day, latest.hour);
    expect(held.length).toBeGreaterThan(0);
    const duplicates = centre.counters.duplicates;
    branchDb.prepare('UPDATE fleet_outbox SET acked_at = NULL WHERE id = ?').run(latest.id);
    fleet.outbox.makeAllDue();
    fleet.send();
    await waitFor(() => fleet.outbox.pending() === 0, 30_000, 'acknowledged again');
    expect(centre.counters.duplicates).toBe(duplicates + 1);
    expect(passagesAtCentre(latest.day, latest.hour)).toEqual(held);
    expect(await centreLines()).toEqual(await branchLines());
  }, 180_000);
});
