/**
 * Dashboard figures (printed, never asserted):
 * - memory: RSS and heap after start, after N requests and with SSE clients connected
 * - statistics page, API and CSV latency over real HTTP with 2,000,000 entries in the store (target ≤ 100 ms)
 * Standalone: node bin/run-ts.mjs bench/web.ts
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Alarms } from '../src/alarms/alarms.ts';
import { Consents } from '../src/consent/consents.ts';
import { EventBus } from '../src/events/bus.ts';
import { createLogger } from '../src/log/logger.ts';
import { cardHasher } from '../src/privacy/card-hash.ts';
import { anonymiseEntries } from '../src/retention/anonymise.ts';
import { type Db, openDb } from '../src/store/db.ts';
import { createWebServer } from '../src/web/server.ts';
import { addUser } from '../src/web/users.ts';
import { MemoryDoorPanel, MemoryNvrAdmin, testConfig } from '../test/web/fixtures.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import type { Figures } from './door-loop.ts';
import { httpLogin } from '../test/helpers/http-login.ts';

const DAY = 86_400_000;
const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/**
 * `count` entries spread over `days` days before `end`, opening hours only, a realistic mix of doors,
 * modes, reasons and categories. Integer arithmetic throughout: ts must stay an INTEGER, like real entries.
 */
function seedEntries(db: Db, count: number, days: number, end: number): void {
  db.pragma('synchronous = OFF');
  db.prepare(
    `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < @count - 1)
     INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
     SELECT ts, door, mode, CASE WHEN reason LIKE 'allow%' THEN 'granted' ELSE 'denied' END, reason,
            printf('%064x', abs(random()) % 20000), category, age_band, 'live'
       FROM (
         SELECT @from + (i * @days / @count) * 86400000 + 21600000 + abs(random()) % 54000000 AS ts,
                CASE WHEN abs(random()) % 4 = 0 THEN 'side' ELSE 'main' END AS door,
                m AS mode,
                CASE WHEN m = 'closed' THEN 'closed'
                     WHEN abs(random()) % 10 = 0 THEN CASE abs(random()) % 3 WHEN 0 THEN 'no_agreement' WHEN 1 THEN 'bad_pin' ELSE 'blocked' END
                     WHEN m = 'staffed' THEN 'allow_staffed' ELSE 'allow' END AS reason,
                CASE abs(random()) % 4 WHEN 0 THEN 'child' WHEN 1 THEN 'senior' ELSE 'adult' END AS category,
                CASE abs(random()) % 3 WHEN 0 THEN '0-15' WHEN 1 THEN '67+' ELSE '16-66' END AS age_band
           FROM (SELECT i, CASE WHEN abs(random()) % 100 < 45 THEN 'staffed'
                                WHEN abs(random()) % 100 < 93 THEN 'staffless' ELSE 'closed' END AS m FROM seq)
       )`,
  ).run({
    count: BigInt(count),
    days: BigInt(days),
    from: BigInt(Math.floor((end - days * DAY) / DAY) * DAY),
  });
  db.pragma('synchronous = FULL');
}

async function startDashboard(db: Db) {
  const log = createLogger('error', process.stderr);
  const bus = new EventBus();
  const config = testConfig();
  config.doors.push({ ...config.doors[0]!, id: 'side', name: 'Side door' });
  const app = await createWebServer({
    config,
    db,
    bus,
    alarms: new Alarms(db, bus, log),
    consents: new Consents(db),
    hashCard: cardHasher('bench-site-key-0123456789'),
    doors: [new MemoryDoorPanel('main'), new MemoryDoorPanel('side')],
    nvr: new MemoryNvrAdmin(),
    log,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { app, bus, base };
}

async function timeGet(
  base: string,
  cookie: string,
  path: string,
  runs: number,
): Promise<{ median: number; p95: number; bytes: number }> {
  let bytes = 0;
  const get = async () => {
    const res = await fetch(`${base}${path}`, { headers: { cookie } });
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    bytes = (await res.arrayBuffer()).byteLength;
  };
  await get(); // warm statement caches
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await get();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    median: round(samples[Math.floor(runs / 2)]!),
    p95: round(samples[Math.min(runs - 1, Math.floor(runs * 0.95))]!),
    bytes,
  };
}

export async function benchWebMemory(requests = 1000, sseClients = 20): Promise<Figures> {
  const dir = tempDir('dorvakt-bench-web-');
  const db = openDb(`${dir.path}/store.sqlite`);
  try {
    await addUser(db, { name: 'bench', role: 'admin', password: 'bench-password-123', language: 'nb' });
    seedEntries(db, 20_000, 30, Date.now());
    global.gc?.();
    const before = process.memoryUsage();
    const { app, bus, base } = await startDashboard(db);
    const cookie = await httpLogin(base, 'bench', 'bench-password-123');
    global.gc?.();
    const started = process.memoryUsage();
    const paths = ['/now', '/api/state', '/entries', '/stats', '/retention', '/audit', '/now/panel'];
    for (let i = 0; i < requests; i++) {
      const res = await fetch(`${base}${paths[i % paths.length]}`, { headers: { cookie } });
      await res.arrayBuffer();
    }
    global.gc?.();
    const afterRequests = process.memoryUsage();
    const controllers = Array.from({ length: sseClients }, () => new AbortController());
    const streams = await Promise.all(
      controllers.map((c) => fetch(`${base}/api/events`, { headers: { cookie }, signal: c.signal })),
    );
    for (let i = 0; i < 1000; i++) {
      bus.publish({
        type: 'entry',
        door: 'main',
        outcome: 'granted',
        reason: 'allow',
        mode: 'staffless',
        entryId: i,
        ts: new Date().toISOString(),
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    const withSse = process.memoryUsage();
    for (const c of controllers) c.abort();
    await Promise.allSettled(streams.map((s) => s.body?.cancel()));
    await app.close();
    return {
      'rss before server (MB)': mb(before.rss),
      'rss after start + login (MB)': mb(started.rss),
      [`rss after ${requests} requests (MB)`]: mb(afterRequests.rss),
      [`rss with ${sseClients} SSE clients, 1000 events (MB)`]: mb(withSse.rss),
      'heap after start (MB)': mb(started.heapUsed),
      [`heap after ${requests} requests (MB)`]: mb(afterRequests.heapUsed),
      'gc exposed': global.gc ? 'yes' : 'no (run node --expose-gc for steadier heap figures)',
    };
  } finally {
    db.close();
    dir.cleanup();
  }
}

/** 2,000,000 entries over three years, the last 30 days identified (as the nightly job leaves them). */
export async function benchWebStats(count = 2_000_000, runs = 15): Promise<Figures> {
  const dir = tempDir('dorvakt-bench-web-');
  const db = openDb(`${dir.path}/store.sqlite`);
  try {
    await addUser(db, { name: 'bench', role: 'staff', password: 'bench-password-123', language: 'nb' });
    const now = Date.now();
    const t0 = performance.now();
    seedEntries(db, count, 3 * 365, now);
    anonymiseEntries(db, { identifiedDays: 30, timezone: 'Europe/Oslo', now, batchSize: 50_000 });
    db.exec('ANALYZE');
    const seedSeconds = Math.round((performance.now() - t0) / 100) / 10;
    const rawEntries = db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
    const { app, base } = await startDashboard(db);
    try {
      const cookie = await httpLogin(base, 'bench', 'bench-password-123');
      const day = (offset: number) => new Date(now + offset * DAY).toISOString().slice(0, 10);
      const year = `from=${day(-365)}&to=${day(0)}`;
      const figures: Figures = {
        entries: count,
        'identified entries': rawEntries,
        'seed + anonymise (s)': seedSeconds,
      };
      for (const [name, path] of [
        ['stats page, last 30 days', '/stats'],
        ['stats page, one year', `/stats?${year}`],
        ['stats page, one year, one door', `/stats?${year}&door=side`],
        ['stats API, one year', `/api/stats?${year}`],
        ['stats CSV, one year', `/stats.csv?${year}`],
        ['now page', '/now'],
        ['entries page (identified)', '/entries'],
      ] as const) {
        const t = await timeGet(base, cookie, path, runs);
        figures[`${name} (median / p95 ms, kB)`] =
          `${t.median} / ${t.p95} ms, ${Math.round(t.bytes / 102.4) / 10} kB`;
      }
      return figures;
    } finally {
      await app.close();
    }
  } finally {
    db.close();
    dir.cleanup();
  }
}

export async function benchWeb(): Promise<Figures[]> {
  const memory = await benchWebMemory(Number(process.env['WEB_REQUESTS'] ?? 1000));
  const stats = await benchWebStats(Number(process.env['WEB_ENTRIES'] ?? 2_000_000));
  return [memory, stats];
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href) {
  for (const table of await benchWeb()) console.table(table);
}
