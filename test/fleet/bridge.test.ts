/**
 * The fleet over real bridged Mosquitto brokers: three branch brokers, each bridged with the shipped
 * docs/mosquitto/fleet-bridge.conf (TLS, a client certificate per site) to a central broker run with
 * fleet-central.conf and its ACL, and the fleet centre. Branch "north" is a whole controller (startApp, sim
 * door, pty reader); "south" and "east" are the figures publisher on real SQLite stores seeded with entries.
 * The branch brokers keep a small bridge queue (max_queued_messages 50): a week away overflows it, so what
 * arrives is owed to the figures outbox, not to the broker's queue.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { alarmAckTopic, signAlarmAck } from '../../src/contract/fleet.ts';
import { EventBus } from '../../src/events/bus.ts';
import { BranchFleet } from '../../src/fleet/branch.ts';
import { parseFleetConfig } from '../../src/fleet/central-config.ts';
import { openFleetDb } from '../../src/fleet/central-store.ts';
import type { FleetCentreConfig } from '../../src/fleet/central-config.ts';
import { FleetCentre } from '../../src/fleet/centre.ts';
import { readHours } from '../../src/fleet/figures.ts';
import { createFleetWeb } from '../../src/fleet/web.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { makePki } from '../helpers/mosquitto-conf.ts';
import { anonymiseEntries } from '../../src/retention/anonymise.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { addUser } from '../../src/web/users.ts';
import { mosquittoPath } from '../helpers/mosquitto.ts';
import { mosquittoPasswd, startMosquittoConf } from '../helpers/mosquitto-conf.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { branchFleetConfig } from './branch-config.ts';

const SITES = ['north', 'south', 'east'] as const;
type Site = (typeof SITES)[number];
const TZ = 'Europe/Oslo';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const log = createLogger('silent');
const dir = tempDir('fleet-bridge-');
const pki = join(dir.path, 'fleet');
const FLEET_PASSWORD = 'pw-fleet-centre-1';
const keys = new Map<string, Buffer>(SITES.map((s) => [s, Buffer.from(`fleet-key-${s}-0123456789abcdef`)]));

/** Fleet CA, the central broker's server certificate and one client certificate per site (CN = site id). */
function makeFleetPki(): void {
  mkdirSync(pki, { recursive: true });
  makePki(pki, Object.fromEntries(SITES.map((site) => [site, site])));
}

/** Mosquitto (started as root) drops to its own user before reading certificates and stores. */
function openUp(path: string): void {
  chmodSync(path, 0o777);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) openUp(join(path, entry.name));
    else chmodSync(join(path, entry.name), 0o666);
  }
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** The central broker: stopped and started again on the same ports (an outage), killed hard. */
class CentralBroker {
  private child: ChildProcess | undefined;
  constructor(
    readonly file: string,
    readonly localPort: number,
    readonly bridgePort: number,
  ) {}
  async start(): Promise<void> {
    openUp(dir.path);
    const child = spawn(mosquittoPath(), ['-c', this.file], { stdio: 'ignore' });
    this.child = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`central mosquitto exited with ${child.exitCode}`);
        return (await listening(this.localPort)) && (await listening(this.bridgePort));
      },
      5000,
      'central mosquitto',
    );
  }
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

interface Branch {
  site: Site;
  broker: Awaited<ReturnType<typeof startMosquittoConf>>;
  db: Db;
  alarms: { unresolved: Alarms['unresolved']; acknowledge: Alarms['acknowledge'] };
  fleet: BranchFleet;
}

let central: CentralBroker;
let centre: FleetCentre;
let centreDb: Db;
let centreConfig: FleetCentreConfig;
let web: Awaited<ReturnType<typeof createFleetWeb>>;
let webUrl = '';
let skewMs = 0;
let north: App;
let pty: PtyPair;
const branches = new Map<Site, Branch>();
const stores: Db[] = [];

function branchConf(site: Site, port: number): string {
  const bridge = readFileSync('docs/mosquitto/fleet-bridge.conf', 'utf8');
  expect(bridge).toContain('restart_timeout 5 300\n');
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'log_dest none',
    bridge
      .replaceAll('hovedbiblioteket', site)
      .replace('fleet.kommune.example:8883', `127.0.0.1:${central.bridgePort}`)
      .replaceAll('/etc/mosquitto/fleet/', `${pki}/`)
      .replace('/var/lib/mosquitto/', `${dir.path}/${site}-data/`)
      // A test cannot wait minutes for the bridge's backoff; a small queue so a week away overflows it.
      .replace('restart_timeout 5 300', 'restart_timeout 1')
      .replace('max_queued_messages 10000', 'max_queued_messages 50'),
  ].join('\n');
}

/** Entries in a store as the gate writes them (the live hourly counts follow by trigger). */
function addEntries(db: Db, times: number[], door = 'front'): void {
  const insert = db.prepare(
    `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
     VALUES (?, ?, 'staffless', ?, ?, ?, 'V', '18-66', 'local')`,
  );
  times.forEach((ts, i) => {
    insert.run(
      ts,
      door,
      i % 5 === 0 ? 'denied' : 'granted',
      i % 5 === 0 ? 'no_consent' : 'allow',
      `hash-${i % 7}`,
    );
  });
}

/** What the branch counts, every hour and row, as `day hour door mode outcome reason category age_band` → n. */
function branchTotals(db: Db, now = Date.now()): Map<string, number> {
  const totals = new Map<string, number>();
  for (const h of readHours(db, TZ, '2000-01-01', '2999-12-31', now))
    for (const r of h.rows)
      totals.set(
        [h.day, h.hour, r.door, r.mode, r.outcome, r.reason, r.category, r.age_band].join(' '),
        r.count,
      );
  return totals;
}

function centreTotals(site: Site): Map<string, number> {
  const rows = centreDb
    .prepare(
      'SELECT day, hour, door, mode, outcome, reason, category, age_band, count FROM centre_figures WHERE site = ?',
    )
    .all(site) as Record<string, string | number>[];
  return new Map(
    rows
      .filter((r) => (r.count as number) > 0)
      .map((r) => [
        [r.day, r.hour, r.door, r.mode, r.outcome, r.reason, r.category, r.age_band].join(' '),
        r.count as number,
      ]),
  );
}

const sameTotals = (site: Site) => {
  const branch = branchTotals(branches.get(site)!.db);
  const here = centreTotals(site);
  return branch.size > 0 && JSON.stringify([...branch].sort()) === JSON.stringify([...here].sort());
};

const pendingEverywhere = () => [...branches.values()].reduce((n, b) => n + b.fleet.outbox.pending(), 0);

/** Scans until the backfill walked all history (a few scans of seven days each). */
function scanAll(fleet: BranchFleet): void {
  for (let i = 0; i < 20; i++) fleet.scan();
}

function startBranchFleet(site: Site, db: Db, alarms: Branch['alarms'], port: number): BranchFleet {
  const fleet = new BranchFleet({
    db,
    site,
    base: `dorvakt/${site}`,
    timezone: TZ,
    identifiedDays: 30,
    config: branchFleetConfig({ scan_seconds: 3600, send_seconds: 1, batch: 40, health_seconds: 3600 }),
    mqttUrl: `mqtt://127.0.0.1:${port}`,
    mqttOptions: { reconnectPeriod: 200 },
    key: keys.get(site)!,
    alarms,
    log,
  });
  fleet.start();
  return fleet;
}

beforeAll(async () => {
  makeFleetPki();
  mosquittoPasswd(join(dir.path, 'fleet.passwd'), { fleet: FLEET_PASSWORD });
  copyFileSync('docs/mosquitto/fleet-central.acl', join(dir.path, 'fleet.acl'));
  for (const s of ['central', ...SITES]) mkdirSync(join(dir.path, `${s}-data`));
  const [localPort, bridgePort] = [await freePort(), await freePort()];
  const conf = readFileSync('docs/mosquitto/fleet-central.conf', 'utf8');
  expect(conf).toContain('listener 1883 127.0.0.1\n');
  expect(conf).toContain('listener 8883\n');
  const centralFile = join(dir.path, 'central.conf');
  writeFileSync(
    centralFile,
    `log_dest none\n${conf
      .replaceAll('/var/lib/mosquitto/', `${dir.path}/central-data/`)
      .replaceAll('/etc/mosquitto/fleet/', `${pki}/`)
      .replaceAll('/etc/mosquitto/', `${dir.path}/`)
      .replace('listener 1883 127.0.0.1\n', `listener ${localPort} 127.0.0.1\n`)
      .replace('listener 8883\n', `listener ${bridgePort} 127.0.0.1\n`)}`,
  );
  central = new CentralBroker(centralFile, localPort, bridgePort);
  await central.start();

  // The centre, on the central broker's loopback listener as user `fleet`.
  centreConfig = parseFleetConfig(
    `
name: Test fleet
language: en
timezone: ${TZ}
store: { path: ${join(dir.path, 'fleet.sqlite')} }
mqtt: { url: "mqtt://127.0.0.1:${localPort}", username: fleet }
web: { port: 0 }
offline_after_minutes: 15
sites: [{ id: north, name: North }, { id: south, name: South }, { id: east, name: East }]
`,
    'fleet.yaml',
  );
  centreDb = openFleetDb(centreConfig.store.path);
  centre = new FleetCentre({
    config: centreConfig,
    db: centreDb,
    log,
    keys,
    mqttOptions: { password: FLEET_PASSWORD, reconnectPeriod: 200 },
    nowMs: () => Date.now() + skewMs,
  });
  centre.start();
  await waitFor(() => centre.connected, 5000, 'centre connected');
  await addUser(centreDb, { name: 'ola', password: 'a-long-fleet-password', role: 'staff', language: 'en' });
  web = await createFleetWeb({ config: centreConfig, db: centreDb, centre, log });
  webUrl = await web.listen({ host: '127.0.0.1', port: 0 });

  // Seeded history at every branch: anonymised hours six weeks back, live entries over the last days.
  const now = Date.now();
  for (const site of SITES) {
    const broker = await startMosquittoConf(dir.path, (p) => branchConf(site, p));
    const port = broker.port;
    let db: Db;
    let alarms: Branch['alarms'];
    if (site === 'north') {
      pty = await createPtyPair();
      writeFileSync(join(dir.path, 'north-key'), 'north-card-key-0123456789abcdef');
      north = await startApp({
        config: parseConfig(`
site: { id: north, timezone: ${TZ}, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'north-key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line, reconnect_min_ms: 50, reconnect_max_ms: 200 }
    hardware: { driver: sim, pulse_ms: 100, held_open_seconds: 5, sim: { open_after_ms: 20, close_after_ms: 40, patron_on_grant: true } }
store: { path: ${join(dir.path, 'north.sqlite')} }
mqtt: { url: "mqtt://127.0.0.1:${port}" }
log: { level: silent }
`),
        log,
      });
      db = north.db;
      alarms = north.alarms;
      const registry = new LocalPatronSource(db, north.hashCard, () => '2026-11-26');
      registry.put('12345678', { category: 'V', birthYear: 1980 });
      for (const kind of ['agreement', 'camera'] as const)
        north.consents.sign(north.hashCard('12345678'), kind, '1', Date.now(), 'test');
    } else {
      db = openDb(join(dir.path, `${site}.sqlite`));
      stores.push(db);
      alarms = new Alarms(db, new EventBus(), log);
    }
    // Anonymised figures (entry_stats) from entries 40 to 50 days old, through the real anonymisation.
    addEntries(
      db,
      Array.from({ length: 240 }, (_, i) => now - 50 * DAY + i * HOUR + site.length * 60_000),
    );
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now });
    // Live (not yet anonymised) entries: the last three days.
    addEntries(
      db,
      Array.from({ length: 72 }, (_, i) => now - 3 * DAY + i * HOUR - 30 * 60_000 + site.length * 1000),
    );
    const fleet = startBranchFleet(site, db, alarms, port);
    branches.set(site, { site, broker, db, alarms, fleet });
  }
  await waitFor(() => north.doors[0]!.reader.online, 5000, 'north reader online');
}, 60_000);

afterAll(async () => {
  for (const b of branches.values()) await b.fleet.stop();
  await north?.stop();
  await pty?.close();
  await web?.close();
  await centre?.stop();
  for (const b of branches.values()) await b.broker.stop();
  await central?.stop();
  for (const db of stores) db.close();
  centreDb?.close();
  dir.cleanup();
});

describe('figures over the bridges', () => {
  it('reach the centre exactly as each branch counts them', async () => {
    for (const b of branches.values()) scanAll(b.fleet);
    await waitFor(
      () => SITES.every(sameTotals) && pendingEverywhere() === 0,
      30_000,
      'every branch total at the centre',
    );
    expect(centreTotals('south').size).toBeGreaterThan(100);
  }, 40_000);

  it('queue through a week without the central broker and then arrive with nothing lost and nothing twice', async () => {
    await central.stop();
    const storedBefore = centre.counters.stored;
    const now = Date.now();
    for (const b of branches.values()) {
      // A week of swipes while the link is down (every hour of it)...
      addEntries(
        b.db,
        Array.from({ length: 7 * 24 }, (_, i) => now - 7 * DAY - 2 * HOUR + i * HOUR + 17 * 60_000),
        'side',
      );
      // ...and anonymisation reaching hours already sent: those hours change and go again as new revisions.
      addEntries(
        b.db,
        Array.from({ length: 24 }, (_, i) => now - 31 * DAY + i * HOUR),
      );
    }
    for (const b of branches.values()) scanAll(b.fleet);
    // The live counts of those 31-day-old hours were queued; now they become anonymised rows.
    for (const b of branches.values()) anonymiseEntries(b.db, { identifiedDays: 30, timezone: TZ, now });
    for (const b of branches.values()) scanAll(b.fleet);
    for (const b of branches.values()) expect(b.fleet.outbox.pending()).toBeGreaterThanOrEqual(7 * 24);
    // Nothing reaches the centre meanwhile, however often the branches send.
    await waitFor(
      () => [...branches.values()].every((b) => b.fleet.counters.sent > 7 * 24),
      20_000,
      'sends while down',
    );
    expect(centre.counters.stored).toBe(storedBefore);
    expect(SITES.some(sameTotals)).toBe(false);

    await central.start();
    await waitFor(
      () => SITES.every(sameTotals) && pendingEverywhere() === 0,
      60_000,
      'the queue drained to the centre',
    );
    for (const site of SITES) expect(sameTotals(site)).toBe(true);
  }, 90_000);

  it('answers a resent figure again and counts it once (a lost acknowledgement)', async () => {
    const south = branches.get('south')!;
    const latest = south.db
      .prepare('SELECT MAX(id) AS id FROM fleet_outbox WHERE acked_at IS NOT NULL AND superseded_at IS NULL')
      .get() as { id: number };
    const before = centre.counters.duplicates;
    south.db.prepare('UPDATE fleet_outbox SET acked_at = NULL WHERE id = ?').run(latest.id);
    south.fleet.outbox.makeAllDue();
    south.fleet.send();
    await waitFor(() => south.fleet.outbox.pending() === 0, 10_000, 'the duplicate acknowledged again');
    expect(centre.counters.duplicates).toBe(before + 1);
    expect(sameTotals('south')).toBe(true);
  });

  it('never lets an older revision that arrives late replace a newer one', async () => {
    const east = branches.get('east')!;
    // An hour sent twice (live counts, then anonymised): its first revision, as if it had waited in some
    // queue and never arrived, comes now under an id the centre has not seen.
    const older = east.db
      .prepare('SELECT payload FROM fleet_outbox WHERE superseded_at IS NOT NULL ORDER BY id LIMIT 1')
      .get() as { payload: string } | undefined;
    expect(older).toBeDefined();
    const late = { ...JSON.parse(older!.payload), id: `${east.fleet.outbox.instance}-999999` };
    const before = centre.counters.older;
    const client = await connectAsync(`mqtt://127.0.0.1:${east.broker.port}`);
    await client.publishAsync('dorvakt/east/fleet/figures', JSON.stringify(late), { qos: 1 });
    await client.endAsync();
    await waitFor(() => centre.counters.older === before + 1, 10_000, 'the late revision seen');
    expect(sameTotals('east')).toBe(true);
  });

  it('is not acknowledged when the centre could not store it, and arrives once it can', async () => {
    const south = branches.get('south')!;
    centreDb.exec(`CREATE TRIGGER refuse_south BEFORE INSERT ON centre_receipts WHEN NEW.site = 'south'
      BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`);
    addEntries(south.db, [Date.now() - 5 * HOUR]);
    south.fleet.scan();
    const sentBefore = south.fleet.counters.sent;
    await waitFor(() => south.fleet.counters.sent >= sentBefore + 2, 10_000, 'two sends');
    // The ack would have come within a send; two sends without it mean none was published.
    expect(south.fleet.outbox.pending()).toBe(1);
    centreDb.exec('DROP TRIGGER refuse_south');
    await waitFor(
      () => south.fleet.outbox.pending() === 0 && sameTotals('south'),
      10_000,
      'stored after all',
    );
  });
});

describe('the central ACL', () => {
  it("lets a site's certificate write only its own topics, and never the centre's", async () => {
    const watcher = await connectAsync(`mqtt://127.0.0.1:${central.localPort}`, {
      username: 'fleet',
      password: FLEET_PASSWORD,
    });
    const got: string[] = [];
    watcher.on('message', (topic) => got.push(topic));
    await watcher.subscribeAsync(
      ['dorvakt/north/acl-probe', 'dorvakt/south/acl-probe', 'dorvakt/fleet/site/south/ack'],
      { qos: 1 },
    );
    const asNorth = await connectAsync(`mqtts://127.0.0.1:${central.bridgePort}`, {
      ca: readFileSync(join(pki, 'ca.pem')),
      cert: readFileSync(join(pki, 'north.pem')),
      key: readFileSync(join(pki, 'north.key')),
      protocolVersion: 4,
    });
    for (const topic of [
      'dorvakt/south/acl-probe',
      'dorvakt/fleet/site/south/ack',
      'dorvakt/north/acl-probe',
    ])
      await asNorth.publishAsync(topic, '{}', { qos: 1 });
    // The last one is allowed: once it is here, the two before it (same connection, in order) were dropped.
    await waitFor(() => got.includes('dorvakt/north/acl-probe'), 5000, 'the allowed message');
    expect(got).toEqual(['dorvakt/north/acl-probe']);
    await asNorth.endAsync();
    await watcher.endAsync();
  });
});

describe('site_offline', () => {
  it('is raised for a silent site only, and cleared when it speaks again', async () => {
    skewMs = 20 * 60_000;
    try {
      const contacts = new Set<string>();
      const listener = (c: { site: string; kind: string }) => contacts.add(c.site);
      centre.changes.on('change', listener);
      // North and south speak (their health, over the bridges) at the centre's "twenty minutes later".
      branches.get('north')!.fleet.heartbeat();
      branches.get('south')!.fleet.heartbeat();
      await waitFor(() => contacts.has('north') && contacts.has('south'), 10_000, 'north and south heard');
      expect(centre.checkOffline()).toEqual(['east']);
      const offline = () =>
        centreDb
          .prepare("SELECT site FROM centre_alarms WHERE code = 'site_offline' AND cleared_at IS NULL")
          .all();
      expect(offline()).toEqual([{ site: 'east' }]);
      contacts.clear();
      branches.get('east')!.fleet.heartbeat();
      await waitFor(() => contacts.has('east'), 10_000, 'east heard');
      centre.changes.off('change', listener);
      expect(offline()).toEqual([]);
    } finally {
      skewMs = 0;
    }
  });
});

async function login(): Promise<{ cookie: string }> {
  const page = await fetch(`${webUrl}/login`);
  const loginCookie = page.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const res = await fetch(`${webUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ _csrf: csrf, name: 'ola', password: 'a-long-fleet-password' }),
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  const session = res.headers.getSetCookie().find((c) => c.startsWith('dorvakt_session='))!;
  return { cookie: session.split(';')[0]! };
}

describe('alarms acknowledged centrally', () => {
  it('reach the branch, which acknowledges the alarm there and audits it', async () => {
    north.alarms.raise('door_forced', 'front', 'test');
    const row = await waitFor(
      () =>
        centreDb
          .prepare(
            "SELECT id FROM centre_alarms WHERE site = 'north' AND code = 'door_forced' AND scope = 'front'",
          )
          .get() as { id: number } | undefined,
      10_000,
      'the alarm at the centre',
    );
    const { cookie } = await login();
    const alarmsPage = await (await fetch(`${webUrl}/alarms`, { headers: { cookie } })).text();
    expect(alarmsPage).toContain('door_forced');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(alarmsPage)![1]!;
    const res = await fetch(`${webUrl}/alarms/${row.id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: csrf }),
      redirect: 'manual',
    });
    expect(res.headers.get('location')).toBe('/alarms?done=1');
    const acked = await waitFor(
      () => north.alarms.unresolved().find((a) => a.code === 'door_forced' && a.ackedAt !== null),
      10_000,
      'the acknowledgement at the branch',
    );
    expect(acked.ackedBy).toBe('fleet:ola');
    const audit = north.db
      .prepare("SELECT actor, subject FROM audit WHERE action = 'alarm.acknowledge' AND actor = 'fleet:ola'")
      .all();
    expect(audit).toEqual([{ actor: 'fleet:ola', subject: 'door_forced:front' }]);
  });

  it('refuses an acknowledgement not signed with the site key, and counts it', async () => {
    north.alarms.raise('door_held_open', 'front', 'test');
    const client: MqttClient = await connectAsync(`mqtt://127.0.0.1:${central.localPort}`, {
      username: 'fleet',
      password: FLEET_PASSWORD,
    });
    const forged = signAlarmAck('north', Buffer.from('not the key'), {
      alarm: 'door_held_open',
      scope: 'front',
      by: 'mallory',
      at: Date.now(),
    });
    const fleet = branches.get('north')!.fleet;
    const refusedBefore = fleet.counters.refused.bad_mac ?? 0;
    await client.publishAsync(alarmAckTopic('north'), JSON.stringify(forged), { qos: 1 });
    await waitFor(() => (fleet.counters.refused.bad_mac ?? 0) > refusedBefore, 10_000, 'the forgery refused');
    await client.endAsync();
    expect(north.alarms.unresolved().find((a) => a.code === 'door_held_open')?.ackedAt).toBeNull();
  });
});

describe('the door and the link', () => {
  it('opens the door with the central broker down', async () => {
    await central.stop();
    try {
      const entries: string[] = [];
      const off = north.bus.subscribe((e) => {
        if (e.type === 'entry') entries.push(e.outcome);
      });
      pty.write('12345678\r\n');
      await waitFor(() => entries.length > 0, 5000, 'the swipe');
      off();
      expect(entries).toEqual(['granted']);
    } finally {
      await central.start();
    }
  });
});
