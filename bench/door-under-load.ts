import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log/logger.ts';
import { LocalPatronSource } from '../src/patrons/local-registry.ts';
import { anonymiseEntries } from '../src/retention/anonymise.ts';
import { type Service, startService } from '../src/service.ts';
import { openDb } from '../src/store/db.ts';
import { addUser } from '../src/web/users.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { freePort, waitFor } from '../test/helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../test/helpers/pty.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import type { Figures } from './door-loop.ts';
import { seedEntries } from './retention.ts';
import { httpLogin } from '../test/helpers/http-login.ts';
import { rssMb, startLoad, swipeFigures as figures, workerIdle } from './worker-load.ts';

const DAY = 86_400_000;
const CARD = '12345678';
const TZ = 'Europe/Oslo';

/** Swipes one at a time, each after the relock; milliseconds from the last byte to the relay write. */
async function swipeLatencies(service: Service, pty: PtyPair, swipes: number): Promise<number[]> {
  const door = service.app.doors[0]!.door;
  let unlockedAt: bigint | null = null;
  let relocked = true;
  const off = door.onRelayWrite((at, unlocked) => {
    if (unlocked) unlockedAt = at;
    else relocked = true;
  });
  const samples: number[] = [];
  try {
    for (let i = 0; i < swipes; i++) {
      await waitFor(() => relocked, 5000, 'relock');
      relocked = false;
      unlockedAt = null;
      pty.write(`${CARD}\r\n`);
      const written = process.hrtime.bigint();
      const at = (await waitFor(() => unlockedAt, 10_000, 'relay write')) as bigint;
      samples.push(Number(at - written) / 1e6);
      // A patron does not swipe the instant the door relocks; let the loads run between swipes.
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    off();
  }
  return samples.sort((a, b) => a - b);
}

export async function benchDoorUnderLoad(swipes = Number(process.env.SWIPES ?? 400)): Promise<Figures[]> {
  const broker = await startMosquitto();
  const pty = await createPtyPair();
  const dir = tempDir('bench-load-');
  const storePath = join(dir.path, 'store.sqlite');
  writeFileSync(join(dir.path, 'key'), 'bench-site-key-0123456789abcdef');
  const now = Date.now();

  // 2,000,000 entries over three years, anonymised as the nightly job leaves them (30 days identified).
  const seeded = performance.now();
  const seed = openDb(storePath);
  seedEntries(seed, 2_000_000, 3 * 365, now);
  anonymiseEntries(seed, { identifiedDays: 30, timezone: TZ, now, batchSize: 50_000 });
  seed.exec('ANALYZE');
  seed.close();
  const seedSeconds = Math.round((performance.now() - seeded) / 100) / 10;

  const config = parseConfig(`
site: { id: bench, timezone: ${TZ}, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: main
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line }
    hardware: { driver: sim, pulse_ms: 100, sim: { open_after_ms: 50, close_after_ms: 10, patron_on_grant: false } }
entries: { identified_days: 30 }
store: { path: ${storePath} }
mqtt: { url: "${broker.url}" }
ops: { port: ${await freePort()} }
web: { port: ${await freePort()} }
log: { level: warn }
`);
  config.doors[0]!.hardware.pulse_ms = 3;
  const service = await startService({ config, log: createLogger('warn') });
  const { app } = service;
  new LocalPatronSource(app.db, app.hashCard, () => '2026-01-01').put(CARD, {
    category: 'V',
    birthYear: 1980,
  });
  for (const kind of ['agreement', 'camera'] as const)
    app.consents.sign(app.hashCard(CARD), kind, '1', Date.now(), 'bench');
  await addUser(app.db, { name: 'bench', role: 'admin', password: 'bench password 1', language: 'en' });
  await waitFor(() => app.doors[0]!.reader.online, 5000, 'reader');
  const base = await waitFor(() => service.webUrl, 30_000, 'the dashboard');
  const cookie = await httpLogin(base, 'bench', 'bench password 1');

  const out: Figures[] = [];
  const workerRss = () => rssMb(service.worker.pid);
  await swipeLatencies(service, pty, 30); // warm-up
  out.push(figures('quiet', await swipeLatencies(service, pty, swipes), { 'seeding (s)': seedSeconds }));

  // (a) Six clients, each asking again as soon as it has its answer, for the longest window accepted.
  const today = new Date(now).toISOString().slice(0, 10);
  const from = new Date(now - 3 * 366 * DAY).toISOString().slice(0, 10);
  const paths = [
    `/stats?from=${from}&to=${today}`,
    `/api/stats?from=${from}&to=${today}`,
    `/stats.csv?from=${from}&to=${today}`,
  ];
  const statsLoad = await startLoad('stats', base, cookie, paths);
  let t = performance.now();
  const statsSamples = await swipeLatencies(service, pty, swipes);
  const statsSeconds = (performance.now() - t) / 1000;
  const rssDuringStats = workerRss();
  const { requests, failures } = await statsLoad.stop();
  await workerIdle(base);
  out.push(
    figures('(a) 6 concurrent statistics requests, 3-year window, 2,000,000 entries', statsSamples, {
      'requests answered': requests,
      'requests/s': Math.round(requests / statsSeconds),
      'failed requests': failures,
      'worker RSS (MB)': rssDuringStats,
    }),
  );

  // (c) Twenty live-event clients reading every event the swipes cause.
  const sseLoad = await startLoad('sse', base, cookie, []);
  await new Promise((r) => setTimeout(r, 500));
  const sseSamples = await swipeLatencies(service, pty, swipes);
  await new Promise((r) => setTimeout(r, 300));
  const received = (await sseLoad.stop()).events;
  await workerIdle(base);
  out.push(
    figures('(c) 20 SSE clients', sseSamples, {
      'events received (all clients)': received,
      'worker RSS (MB)': workerRss(),
      'door process RSS (MB, the bench process: door, seeding, measuring)': rssMb(process.pid),
    }),
  );

  // (b) The nightly anonymisation, run now in the worker, over 1,000,000 due entries: the door is measured
  // while it runs (it paces itself for the door, so it does not finish inside the window); its throughput
  // over the window is reported.
  // 1,000,000 identified entries 31–60 days old (seeded now, between measurements): the backlog (b) works off.
  const backlog = openDb(storePath);
  seedEntries(backlog, 1_000_000, 29, now - 31 * DAY);
  backlog.close();
  const due = () =>
    app.db
      .prepare('SELECT COUNT(*) FROM entries WHERE ts < ?')
      .pluck()
      .get(now - 30 * DAY) as number;
  const dueBefore = due();
  t = performance.now();
  service.worker.runJob('anonymise').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
  const anonSamples = await swipeLatencies(service, pty, swipes);
  const anonSeconds = (performance.now() - t) / 1000;
  const anonymised = dueBefore - due();
  out.push(
    figures('(b) anonymisation of 1,000,000 entries running in the worker', anonSamples, {
      'entries anonymised meanwhile': anonymised,
      'rows/s': Math.round(anonymised / anonSeconds),
      'worker RSS (MB)': workerRss(),
    }),
  );

  await service.stop();
  await pty.close();
  await broker.stop();
  dir.cleanup();
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await benchDoorUnderLoad()) console.table(row);
}
