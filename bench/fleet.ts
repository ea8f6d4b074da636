/**
 * The fleet centre under N simulated branches (FLEET_SITES, default 200) × 2 doors publishing retained door
 * states, entry events and hourly figures to a central Mosquitto: the delay from a branch event to the fleet
 * dashboard's event stream (p50/p99), the fleet service's CPU and RSS (its own process, as `dorvakt fleet`
 * runs it), and the time one branch needs to drain a week of queued figures through the real outbox.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connectAsync, type MqttClient } from 'mqtt';
import { Alarms } from '../src/alarms/alarms.ts';
import { EventBus } from '../src/events/bus.ts';
import { BranchFleet } from '../src/fleet/branch.ts';
import { openFleetDb } from '../src/fleet/central-store.ts';
import { fleetAnnualReport, fleetReportCsv } from '../src/fleet/report.ts';
import { dayFromNumber, dayNumber, isoWeek } from '../src/stats/tz.ts';
import { createLogger } from '../src/log/logger.ts';
import { openDb } from '../src/store/db.ts';
import { addUser } from '../src/web/users.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { freePort, waitFor } from '../test/helpers/ports.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import type { Figures } from './door-loop.ts';

const HOUR = 3_600_000;
const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;

/** utime + stime of a process in ms, and its RSS in MB, from /proc. */
function procUsage(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuMs: ticks * 10, rssMb: Number(rss) / 1024 };
}

async function login(url: string): Promise<string> {
  const page = await fetch(`${url}/login`);
  const loginCookie = page.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ _csrf: csrf, name: 'bench', password: 'a-long-bench-password' }),
    redirect: 'manual',
  });
  return res.headers
    .getSetCookie()
    .find((c) => c.startsWith('dorvakt_session='))!
    .split(';')[0]!;
}

/** Reads the SSE stream and hands each change's delay (now − the branch event's ts) to `onDelay`. */
async function readStream(
  url: string,
  cookie: string,
  onDelay: (ms: number, at: number) => void,
  signal: AbortSignal,
) {
  const res = await fetch(`${url}/api/stream`, { headers: { cookie }, signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const now = Date.now();
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (line.startsWith('data: ')) {
            const change = JSON.parse(line.slice(6)) as { kind: string; ts?: string };
            if (change.kind === 'event' && change.ts)
              onDelay(now - Date.parse(change.ts), Date.parse(change.ts));
          }
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted at the end
    }
  })();
}

/**
 * The national report of a year at the centre: every site with two doors open twelve hours a day all year
 * (a row per door and hour), and the days' opening hours. The time it takes, and the longest stretch the
 * event loop is held between its pauses (what any MQTT message arriving meanwhile waits at most).
 */
async function nationalReport(path: string, ids: string[]): Promise<Figures> {
  const db = openFleetDb(path);
  try {
    const year = new Date().getUTCFullYear() - 1;
    const figures = db.prepare(
      `INSERT INTO centre_figures (site, day, hour, door, mode, outcome, reason, category, age_band, count)
       VALUES (?, ?, ?, ?, ?, 'granted', 'allow', '', '', 3)`,
    );
    const opening = db.prepare(
      'INSERT INTO centre_opening (site, day, week, staffed, staffless) VALUES (?, ?, ?, 4, 8)',
    );
    let rows = 0;
    for (const site of ids)
      db.transaction(() => {
        for (let d = dayNumber(`${year}-01-01`); d <= dayNumber(`${year}-12-31`); d++) {
          const day = dayFromNumber(d);
          opening.run(site, day, isoWeek(day));
          for (let hour = 8; hour < 20; hour++)
            for (const door of ['front', 'side']) {
              figures.run(site, day, hour, door, hour < 12 ? 'staffless' : 'staffed');
              rows++;
            }
        }
      })();
    // Wall time and CPU time (on a loaded machine a step can wait for a core: the CPU time is its own cost).
    let longest = 0;
    let longestCpu = 0;
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    const started = last;
    const report = await fleetAnnualReport(db, ids, year, 'Europe/Oslo', async () => {
      longest = Math.max(longest, performance.now() - last);
      const cpu = process.cpuUsage(lastCpu);
      longestCpu = Math.max(longestCpu, (cpu.user + cpu.system) / 1000);
      await new Promise((r) => setImmediate(r));
      last = performance.now();
      lastCpu = process.cpuUsage();
    });
    const csvStarted = performance.now();
    let bytes = 0;
    for (const line of fleetReportCsv(report, 'no')) bytes += Buffer.byteLength(line);
    return {
      'national report: figure rows (a year)': rows,
      'report computed (ms)': Math.round(csvStarted - started),
      'longest step between pauses, wall / CPU (ms)': `${Math.round(Math.max(longest, csvStarted - last))} / ${Math.round(longestCpu)}`,
      'CSV (MB), made (ms)': `${(bytes / 1e6).toFixed(1)}, ${Math.round(performance.now() - csvStarted)}`,
    };
  } finally {
    db.close();
  }
}

export async function benchFleet(): Promise<Figures[]> {
  const sites = Number(process.env.FLEET_SITES ?? 200);
  const seconds = Number(process.env.FLEET_SECONDS ?? 30);
  const eventEveryMs = Number(process.env.FLEET_EVENT_MS ?? 10_000);
  const dir = tempDir('bench-fleet-');
  const broker = await startMosquitto();
  const ids = Array.from({ length: sites }, (_, i) => `site${String(i).padStart(3, '0')}`);
  const webPort = await freePort();
  const store = join(dir.path, 'fleet.sqlite');
  const db = openFleetDb(store);
  await addUser(db, { name: 'bench', password: 'a-long-bench-password', role: 'staff', language: 'en' });
  db.close();
  const configFile = join(dir.path, 'fleet.yaml');
  writeFileSync(
    configFile,
    `name: Bench\nstore: { path: ${store} }\nmqtt: { url: "${broker.url}" }\nweb: { port: ${webPort} }\nlog: { level: warn }\n` +
      `sites:\n${ids.map((id) => `  - { id: ${id} }`).join('\n')}\n`,
  );
  let child: ChildProcess | undefined;
  const clients: MqttClient[] = [];
  const abort = new AbortController();
  try {
    child = spawn(
      process.execPath,
      ['bin/run-ts.mjs', 'src/cli/dorvakt.ts', 'fleet', '--config', configFile],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const url = `http://127.0.0.1:${webPort}`;
    await waitFor(
      async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true,
      30_000,
      'fleet service',
    );
    const settled = procUsage(child.pid!);
    const cookie = await login(url);
    const delays: number[] = [];
    // The bench's own event-loop delay: on a loaded machine it says how much of a delay is waiting for a core.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    // Also apart: the events after the first 5 s, when the branches' retained states have been taken in.
    const steady: number[] = [];
    let steadyFrom = Number.POSITIVE_INFINITY;
    await readStream(
      url,
      cookie,
      (ms, at) => {
        delays.push(ms);
        if (at >= steadyFrom) steady.push(ms);
      },
      abort.signal,
    );

    // The branches: one connection each, two doors, retained states first; each counts its figures' acks.
    let acks = 0;
    for (const id of ids) {
      const client = await connectAsync(broker.url, { clientId: `bench-${id}` });
      clients.push(client);
      client.on('message', () => acks++);
      await client.subscribeAsync(`dorvakt/fleet/site/${id}/ack`, { qos: 1 });
      for (const door of ['front', 'side'])
        client.publish(
          `dorvakt/${id}/door/${door}/state`,
          JSON.stringify({
            locked: true,
            open: false,
            held: false,
            fire: false,
            mode: 'staffless',
            alarm: [],
            ts: new Date().toISOString(),
          }),
          { qos: 1, retain: true },
        );
    }
    const before = procUsage(child.pid!);
    const started = Date.now();
    steadyFrom = started + 5000;
    let sent = 0;
    let figureId = 0;
    let figuresSent = 0;
    const timers: NodeJS.Timeout[] = [];
    ids.forEach((id, i) => {
      const client = clients[i]!;
      // Spread over the interval so the load is even, as real branches are.
      const offset = Math.floor((i / ids.length) * eventEveryMs);
      const start = setTimeout(() => {
        const tick = () => {
          for (const door of ['front', 'side']) {
            client.publish(
              `dorvakt/${id}/event`,
              JSON.stringify({
                v: 2,
                type: 'entry',
                door,
                outcome: 'granted',
                reason: 'allow',
                mode: 'staffless',
                ts: new Date().toISOString(),
              }),
              { qos: 1 },
            );
            sent++;
          }
          // An hour's figures now and then (a simulated hour every few ticks).
          if (Math.random() < 0.2) {
            figureId++;
            figuresSent++;
            client.publish(
              `dorvakt/${id}/fleet/figures`,
              JSON.stringify({
                v: 2,
                // `<instance>-<n>` as a branch's outbox makes it (the instance is hex).
                id: `${i.toString(16).padStart(4, '0')}-${figureId}`,
                day: '2026-11-30',
                hour: figureId % 24,
                made_at: Date.now(),
                rows: ['front', 'side'].map((door) => ({
                  door,
                  mode: 'staffless',
                  outcome: 'granted',
                  reason: 'allow',
                  category: '',
                  age_band: '',
                  count: 3,
                })),
                // The front door has a people counter.
                passages: [{ door: 'front', mode: 'staffless', in: 4, out: 4 }],
              }),
              { qos: 1 },
            );
          }
        };
        tick();
        timers.push(setInterval(tick, eventEveryMs));
      }, offset);
      timers.push(start);
    });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    for (const t of timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    const after = procUsage(child.pid!);
    loop.disable();
    const elapsed = Date.now() - started;
    await waitFor(() => delays.length >= sent * 0.99, 20_000, 'the last events at the dashboard').catch(
      () => undefined,
    );
    await waitFor(() => acks >= figuresSent, 20_000, 'every figure acknowledged').catch(() => undefined);
    delays.sort((a, b) => a - b);
    steady.sort((a, b) => a - b);
    const load: Figures = {
      sites,
      doors: sites * 2,
      'events/s': +((sent * 1000) / elapsed).toFixed(1),
      'events seen at the dashboard': `${delays.length}/${sent}`,
      'figures acknowledged (stored, ack via the centre outbox)': `${acks}/${figuresSent}`,
      'branch event → dashboard p50 (ms)': percentile(delays, 50),
      'branch event → dashboard p99 (ms)': percentile(delays, 99),
      'the same after the first 5 s, p50 / p99 (ms)': `${percentile(steady, 50)} / ${percentile(steady, 99)}`,
      'bench process event-loop delay p99 / max (ms)': `${(loop.percentile(99) / 1e6).toFixed(0)} / ${(loop.max / 1e6).toFixed(0)}`,
      'fleet service CPU under load (% of one core)': +(
        ((after.cpuMs - before.cpuMs) / elapsed) *
        100
      ).toFixed(1),
      'fleet service RSS idle / under load (MB)': `${settled.rssMb.toFixed(0)} / ${after.rssMb.toFixed(0)}`,
    };
    for (const c of clients) await c.endAsync();
    clients.length = 0;

    // One branch, a week away: 7 × 24 hours with entries at two doors, queued in its real outbox, then sent.
    const branchDb = openDb(join(dir.path, 'branch.sqlite'));
    const insert = branchDb.prepare(
      "INSERT INTO entries (ts, door, mode, outcome, reason, source) VALUES (?, ?, 'staffless', 'granted', 'allow', 'local')",
    );
    const now = Date.now();
    branchDb.transaction(() => {
      for (let h = 1; h <= 7 * 24; h++)
        for (const door of ['front', 'side']) insert.run(now - h * HOUR, door);
    })();
    const log = createLogger('silent');
    const branch = new BranchFleet({
      db: branchDb,
      site: ids[0]!,
      base: `dorvakt/${ids[0]}`,
      timezone: 'Europe/Oslo',
      identifiedDays: 30,
      config: {
        enabled: true,
        scan_seconds: 3600,
        send_seconds: 5,
        batch: 50,
        backfill_days: 7,
        backoff: { min_ms: 30_000, max_ms: 3_600_000 },
        health_seconds: 3600,
        keep_acked_days: 30,
      },
      mqttUrl: broker.url,
      key: null,
      alarms: new Alarms(branchDb, new EventBus(), log),
      log,
    });
    branch.outbox.scan();
    const queued = branch.outbox.pending();
    const drainStart = Date.now();
    branch.start();
    await waitFor(() => branch.outbox.pending() === 0, 120_000, 'the week drained');
    const drainMs = Date.now() - drainStart;
    await branch.stop();
    branchDb.close();
    const report = await nationalReport(join(dir.path, 'report.sqlite'), ids);
    return [
      load,
      {
        'queued hours (one branch, a week)': queued,
        'drain time (s), batch 50 every 5 s': +(drainMs / 1000).toFixed(1),
      },
      report,
    ];
  } finally {
    abort.abort();
    for (const c of clients) await c.endAsync().catch(() => undefined);
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await broker.stop();
    dir.cleanup();
  }
}
