import type { Db } from '../../src/store/db.ts';

/** Deterministic entry data for retention/statistics tests and the benchmark. */

export interface SeedEntry {
  ts: number;
  door: string;
  mode: string;
  outcome: 'granted' | 'denied';
  reason: string;
  card_hash: string | null;
  category: string | null;
  age_band: string | null;
  source: string | null;
}

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One granted staffless entry at the main door: the plain entry most retention tests start from. */
export function grantedEntry(ts: number, card: string | null, category: string | null = 'adult'): SeedEntry {
  return {
    ts,
    door: 'main',
    mode: 'staffless',
    outcome: 'granted',
    reason: 'allow',
    card_hash: card,
    category,
    age_band: '18-66',
    source: 'live',
  };
}

export function fakeHash(i: number): string {
  return i.toString(16).padStart(8, '0').repeat(8);
}

const CATEGORIES = ['adult', 'child', 'youth', 'senior', 'staff', null];
const AGE_BANDS = ['0-12', '13-15', '16-17', '18-66', '67+', null];
const DENY = ['no_agreement', 'bad_pin', 'blocked', 'card_expired', 'unknown_card', 'consent_withdrawn'];

export interface SeedOptions {
  from: number;
  to: number;
  count: number;
  seed?: number;
  doors?: string[];
  cards?: number;
}

/** `count` entries with ts spread over [from, to), sorted by ts (as a real door writes them). */
export function generateEntries(options: SeedOptions): SeedEntry[] {
  const rand = prng(options.seed ?? 1);
  const doors = options.doors ?? ['main', 'side'];
  const cards = options.cards ?? 500;
  const span = options.to - options.from;
  const times = new Float64Array(options.count);
  for (let i = 0; i < options.count; i++) times[i] = options.from + Math.floor(rand() * span);
  times.sort();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const out: SeedEntry[] = new Array(options.count);
  for (let i = 0; i < options.count; i++) {
    const modeRoll = rand();
    const mode = modeRoll < 0.45 ? 'staffed' : modeRoll < 0.93 ? 'staffless' : 'closed';
    const granted = mode !== 'closed' && rand() < 0.9;
    const reason =
      mode === 'closed' ? 'closed' : granted ? (mode === 'staffed' ? 'allow_staffed' : 'allow') : pick(DENY);
    const unknown = reason === 'unknown_card';
    out[i] = {
      ts: times[i]!,
      door: pick(doors),
      mode,
      outcome: granted ? 'granted' : 'denied',
      reason,
      card_hash: fakeHash(Math.floor(rand() * cards)),
      category: unknown ? null : pick(CATEGORIES),
      age_band: unknown ? null : pick(AGE_BANDS),
      source: granted ? 'live' : 'local',
    };
  }
  return out;
}

export function insertEntries(db: Db, entries: readonly SeedEntry[]): void {
  const stmt = db.prepare(
    `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
     VALUES (@ts, @door, @mode, @outcome, @reason, @card_hash, @category, @age_band, @source)`,
  );
  db.transaction(() => {
    for (const e of entries) stmt.run(e);
  })();
}

const localFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * Local 'YYYY-MM-DD' and hour by a different route than src/stats/tz.ts (the Swedish locale formats ISO
 * style), so tests compare two implementations.
 */
export function referenceLocal(timezone: string, ts: number): { day: string; hour: number } {
  let f = localFormats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('sv-SE', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
    });
    localFormats.set(timezone, f);
  }
  const text = f.format(new Date(ts)); // "2026-03-29 03"
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2})$/.exec(text);
  if (!m) throw new Error(`unexpected format ${text}`);
  return { day: m[1]!, hour: Number(m[2]) };
}

export type BucketKey = string;

/** The statistics key entry_stats uses, computed the slow way. */
export function bucketKey(timezone: string, e: SeedEntry): BucketKey {
  const { day, hour } = referenceLocal(timezone, e.ts);
  return [day, hour, e.door, e.mode, e.outcome, e.reason, e.category ?? '', e.age_band ?? ''].join('|');
}

export function expectedStats(timezone: string, entries: readonly SeedEntry[]): Map<BucketKey, number> {
  const m = new Map<BucketKey, number>();
  for (const e of entries) {
    const k = bucketKey(timezone, e);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

export function storedStats(db: Db): Map<BucketKey, number> {
  const rows = db
    .prepare('SELECT day, hour, door, mode, outcome, reason, category, age_band, count FROM entry_stats')
    .raw()
    .all() as (string | number)[][];
  const m = new Map<BucketKey, number>();
  for (const r of rows) m.set(r.slice(0, 8).join('|'), r[8] as number);
  return m;
}

/** Every text value in every table, to check a hash is gone everywhere. */
export function dumpStore(db: Db): string {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all() as string[];
  return tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t}"`).all())).join('\n');
}

/** entry_live_hourly equals the identified entries regrouped by UTC hour, row for row. */
export function liveMatchesEntries(db: Db): boolean {
  const q = (sql: string) => db.prepare(sql).pluck().get() as number;
  const regrouped = `SELECT CAST(ts AS INTEGER) / 3600000 AS slot, door, mode, outcome, reason, COUNT(*) AS n
                       FROM entries GROUP BY 1, 2, 3, 4, 5`;
  const live = 'SELECT slot, door, mode, outcome, reason, count FROM entry_live_hourly';
  return (
    q(`SELECT COUNT(*) FROM (${regrouped} EXCEPT ${live})`) === 0 &&
    q(`SELECT COUNT(*) FROM (${live} EXCEPT ${regrouped})`) === 0
  );
}
