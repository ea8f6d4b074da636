/**
 * Swipe → relay in the door process, quiet and then, in the same run, while the worker process carries
 * (a) six concurrent heaviest accepted statistics requests over 2,000,000 entries, (b) an anonymisation
 * of 1,000,000 entries, (c) 20 live-event (SSE) clients. Figures are printed, never asserted.
 * Standalone: node bin/run-ts.mjs bench/door-under-load.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
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

const DAY = 86_400_000;
const CARD = '12345678';
const TZ = 'Europe/Oslo';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const rssMb = (pid: number | undefined) => {
  if (!pid) return 0;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Math.round((Number(kb ?? 0) / 1024) * 10) / 10;
  } catch {
    return 0;
  }
};

async function login(base: string, name: string, password: string): Promise<string> {
  const page = await fetch(`${base}/login`);
  const loginCookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ _csrf: token, name, password }).toString(),
  });
  const session = res.headers.getSetCookie().find((c) => c.startsWith('dorvakt_session='));
  if (res.status !== 303 || !session) throw new Error(`bench login failed: ${res.status}`);
  return session.split(';')[0]!;
}

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

function figures(load: string, samples: number[], extra: Figures = {}): Figures {
  return {
    load,
    'swipe→relay p50 (ms)': +percentile(samples, 50).toFixed(2),
    'swipe→relay p99 (ms)': +percentile(samples, 99).toFixed(2),
    'swipe→relay max (ms)': +samples.at(-1)!.toFixed(2),
    swipes: samples.length,
    ...extra,
  };
}

export async function benchDoorUnderLoad(swipes = Number(process.env.SWIPES ?? 400)): Promise<Figures[]> {
  const broker = await startMosquitto();
  const pty = await createPtyPair();
  const dir = tempDir('bench-load-');
  const storePath = join(dir.path, 'store.sqlite');
  writeFileSync(join(dir.path, 'key'), 'bench-site-key-0123456789abcdef');
  const now = Date.now();

  // 2,000,000 entries over three years, anonymised as the nightly job leaves them (30 days identified),
  // then 1,000,000 identified entries 31–60 days old: the backlog the loaded anonymisation works off.
  const seeded = performance.now();
  const seed = openDb(storePath);
  seedEntries(seed, 2_000_000, 3 * 365, now);
  anonymiseEntries(seed, { identifiedDays: 30, timezone: TZ, now, batchSize: 50_000 });
  seedEntries(seed, 1_000_000, 29, now - 31 * DAY);
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
  const cookie = await login(base, 'bench', 'bench password 1');

  // The anonymisation runs first: its backlog of identified entries would otherwise sit inside the
  // statistics window, which in a real store holds a few thousand identified entries, not a million.
  const out: Figures[] = [];
  const workerRss = () => rssMb(service.worker.pid);
  await swipeLatencies(service, pty, 30); // warm-up
  out.push(figures('quiet', await swipeLatencies(service, pty, swipes), { 'seeding (s)': seedSeconds }));

  // (b) The nightly anonymisation, run now in the worker, over 1,000,000 due entries.
  let t = performance.now();
  let jobDone = false;
  const job = service.worker.runJob('anonymise').finally(() => {
    jobDone = true;
  });
  const anonSamples: number[] = [];
  while (!jobDone) anonSamples.push(...(await swipeLatencies(service, pty, 50)));
  const result = await job;
  const jobSeconds = (performance.now() - t) / 1000;
  out.push(
    figures(
      '(b) anonymisation of 1,000,000 entries in the worker',
      anonSamples.sort((x, y) => x - y),
      {
        'rows anonymised': result?.anonymise?.rows ?? 0,
        transactions: result?.anonymise?.batches ?? 0,
        'job (s)': Math.round(jobSeconds * 10) / 10,
        'worker RSS (MB)': workerRss(),
      },
    ),
  );

  // (a) Six clients, each asking again as soon as it has its answer, for the longest window accepted.
  const today = new Date(now).toISOString().slice(0, 10);
  const from = new Date(now - 3 * 366 * DAY).toISOString().slice(0, 10);
  const paths = [
    `/stats?from=${from}&to=${today}`,
    `/api/stats?from=${from}&to=${today}`,
    `/stats.csv?from=${from}&to=${today}`,
  ];
  let running = true;
  let requests = 0;
  let failures = 0;
  const client = async (k: number) => {
    for (let i = k; running; i++) {
      const res = await fetch(`${base}${paths[i % paths.length]}`, { headers: { cookie } }).catch(() => null);
      await res?.arrayBuffer();
      if (res?.status === 200) requests++;
      else failures++;
    }
  };
  const clients = Array.from({ length: 6 }, (_, k) => client(k));
  await new Promise((r) => setTimeout(r, 500));
  t = performance.now();
  const statsSamples = await swipeLatencies(service, pty, swipes);
  const statsSeconds = (performance.now() - t) / 1000;
  const rssDuringStats = workerRss();
  running = false;
  await Promise.all(clients);
  out.push(
    figures('(a) 6 concurrent statistics requests, 3-year window, 2,000,000 entries', statsSamples, {
      'requests answered': requests,
      'requests/s': Math.round(requests / statsSeconds),
      'failed requests': failures,
      'worker RSS (MB)': rssDuringStats,
    }),
  );

  // (c) Twenty live-event clients reading every event the swipes cause.
  const streams = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const controller = new AbortController();
      const res = await fetch(`${base}/api/events`, { headers: { cookie }, signal: controller.signal });
      const reader = res.body!.getReader();
      let events = 0;
      const reading = (async () => {
        const decoder = new TextDecoder();
        for (;;) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
          if (done) return;
          events += (decoder.decode(value).match(/^data: /gm) ?? []).length;
        }
      })();
      return { stop: () => controller.abort(), reading, count: () => events };
    }),
  );
  const sseSamples = await swipeLatencies(service, pty, swipes);
  await new Promise((r) => setTimeout(r, 300));
  const received = streams.reduce((n, s) => n + s.count(), 0);
  for (const s of streams) s.stop();
  out.push(
    figures('(c) 20 SSE clients', sseSamples, {
      'events received (all clients)': received,
      'worker RSS (MB)': workerRss(),
      'door process RSS (MB, the bench process)': rssMb(process.pid),
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
