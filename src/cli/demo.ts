import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseConfig } from '../config/load.ts';
import { PATRON_MESSAGES } from '../contract/reasons.ts';
import { createLogger } from '../log/logger.ts';
import { cardHasher } from '../privacy/card-hash.ts';
import { StdinCardReader } from '../reader/stdin-reader.ts';
import { SimDoorDriver } from '../door/sim-driver.ts';
import { startSip2Simulator, type Sip2Simulator } from '../ils/simulator.ts';
import type { App } from '../app.ts';
import { NvrAgent } from '../nvr-agent/agent.ts';
import { addUser, findUserByName, setPassword } from '../web/users.ts';
import { checkAgentConfig } from '../nvr-agent/config.ts';
import { createInterface } from 'node:readline';
import { startService } from '../service.ts';
import { Consents } from '../consent/consents.ts';
import { openDb } from '../store/db.ts';
import { messageFor, SHIPPED_ANNOUNCEMENTS } from '../states/announcer.ts';
import type { Language } from '../states/config.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const demoDir = resolve(process.env.DORVAKT_DEMO_DIR ?? join(root, '.demo'));
/** Staffless all day except one quiet hour at night, so a visitor can see `closed` too. */
export const DEMO_STAFFLESS = 'Mo-Su 00:00-03:00,04:00-24:00';

/** What each demo card shows; the patrons themselves live in the SIP2 simulator. Consent is Dørvakt's side. */
export const DEMO_CARDS = [
  { card: '10000001', what: 'adult, agreement and camera consent signed', agreement: true, camera: true },
  { card: '10000002', what: 'adult, agreement signed, NO camera consent', agreement: true, camera: false },
  {
    card: '10000003',
    what: 'adult whose card is blocked in the library system',
    agreement: true,
    camera: true,
  },
  { card: '10000004', what: 'child of ten, consents signed', agreement: true, camera: true },
  { card: '10000005', what: 'card reported lost', agreement: true, camera: true },
  { card: '10000006', what: 'expired card', agreement: true, camera: true },
  {
    card: '10000007',
    what: 'Åse Ødegård Æbelø (cp850 over SIP2), consents signed',
    agreement: true,
    camera: true,
  },
] as const;

function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

const haveSocat = (): boolean => haveCommand('socat');

async function startPty(): Promise<{ child: ChildProcess; device: string; host: string }> {
  const device = join(demoDir, 'reader');
  const host = join(demoDir, 'swipe');
  for (const p of [device, host]) rmSync(p, { force: true });
  const child = spawn('socat', [`pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${host}`], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 5000;
  while (!(existsSync(device) && existsSync(host))) {
    if (Date.now() > deadline) throw new Error('socat did not create the pty pair');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, device, host };
}

export async function runDemo(): Promise<void> {
  mkdirSync(demoDir, { recursive: true });
  const keyFile = join(demoDir, 'card-hmac.key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  // The controller and the demo's recorder agent seal every NVR message with this per-site key.
  const nvrKeyFile = join(demoDir, 'nvr.key');
  if (!existsSync(nvrKeyFile)) writeFileSync(nvrKeyFile, randomBytes(32).toString('hex'), { mode: 0o600 });

  const pty = haveSocat() ? await startPty() : null;
  const sip2 = await startSip2Simulator({
    port: Number(process.env.DORVAKT_DEMO_SIP2_PORT ?? 0),
    encoding: 'cp850',
  });
  const template = readFileSync(join(root, 'config/demo.yaml'), 'utf8');
  const text = template
    .replaceAll('@READER_PATH@', pty?.device ?? 'stdin')
    .replaceAll('@MQTT_PORT@', process.env.DORVAKT_DEMO_MQTT_PORT ?? '1883')
    .replaceAll('@OPS_PORT@', process.env.DORVAKT_DEMO_OPS_PORT ?? '9105')
    .replaceAll('@LOG_LEVEL@', process.env.DORVAKT_LOG_LEVEL ?? 'info')
    .replaceAll('@SIP2_PORT@', String(sip2.port))
    // Tests pass "24/7": a run at 03:30 Oslo time must not depend on the wall clock.
    .replaceAll('@STAFFLESS@', process.env.DORVAKT_DEMO_STAFFLESS ?? DEMO_STAFFLESS)
    .replaceAll('@WEB_PORT@', process.env.DORVAKT_DEMO_WEB_PORT ?? '8080');
  const config = parseConfig(text, 'config/demo.yaml');
  config.store.path = join(demoDir, 'dorvakt.sqlite');
  config.secrets.card_hmac_key = { file: keyFile };
  if (config.nvr.auth) for (const key of config.nvr.auth.keys) key.secret = { file: nvrKeyFile };
  // Announcements are printed always, and played only where a system player exists.
  const player = ['aplay', 'pw-play'].find((p) => haveCommand(p));
  const announcements = config.states.announcements;
  announcements.play =
    player !== undefined && existsSync(join(SHIPPED_ANNOUNCEMENTS, 'nb', 'closing-15.wav'));
  if (player) announcements.player = player === 'aplay' ? ['aplay', '-q'] : [player];

  seedDemo(config.store.path, readFileSync(keyFile, 'utf8').trim());
  const adminPassword = await ensureDemoAdmin(config.store.path, join(demoDir, 'admin-password'));

  const logFile = join(demoDir, 'dorvakt.log');
  const log = createLogger(config.log.level, pino.destination({ dest: logFile, sync: false, mkdir: true }));
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const service = await startService({
    config,
    log,
    logFile,
    readerFor: pty
      ? undefined
      : (door, doorLog) => new StdinCardReader({ ...door.reader, profile: 'line' }, doorLog, door.id),
    onSwipe: (door, result) => {
      const time = new Date().toLocaleTimeString('en-GB', { timeZone: config.site.timezone });
      const verdict = result.decision.allow ? 'OPEN ' : 'DENY ';
      say(
        `${time}  ${door}: ${verdict} ${PATRON_MESSAGES[result.decision.reason].en} (${result.decision.reason}, entry #${result.entryId ?? '-'})`,
      );
    },
  });
  const { app } = service;
  const recordings = seedRecordings(join(demoDir, 'recordings'));
  const agent = new NvrAgent({
    config: checkAgentConfig(
      {
        mqtt: {
          url: config.mqtt.url,
          base_topic: config.nvr.base_topic,
          client_id: 'dorvakt-demo-nvr-agent',
          protocol_version: app.broker.kind === 'embedded' ? 4 : 5,
        },
        recorder: { kind: 'files', root: recordings.root, layout: 'frigate' },
        exports_dir: join(demoDir, 'exports'),
        state_file: join(demoDir, 'nvr-agent-state.json'),
        purge_cron: '* * * * *',
        cameras: ['entrance', 'hall'],
        auth: { keys: config.nvr.auth?.keys.map((k) => ({ id: k.id, secret_file: nvrKeyFile })) ?? [] },
      },
      demoDir,
    ),
    log: log.child({ svc: 'nvr-agent' }),
  });
  await agent.start();
  app.bus.subscribe((event) => {
    if (event.type === 'door')
      say(
        `          ${event.door}: door ${event.locked ? 'locked' : 'UNLOCKED'}, ${event.open ? 'open' : 'closed'} (${event.mode})`,
      );
    if (event.type === 'alarm')
      say(`          alarm ${event.alarm} ${event.state}${event.door ? ` at ${event.door}` : ''}`);
    if (event.type === 'reader_rejected') say(`          reader: dropped a malformed frame (${event.why})`);
    if (event.type === 'state')
      say(`          site state: ${event.state}${event.emergency ? ` (${event.emergency})` : ''}`);
    if (event.type === 'output') say(`          output ${event.output} = ${event.value}`);
    if (event.type === 'announcement')
      for (const language of event.languages) {
        const message = messageFor(
          announcements.dir ?? SHIPPED_ANNOUNCEMENTS,
          language as Language,
          event.minutes,
        );
        const playing = announcements.play && message?.file ? ` [plays ${relative(root, message.file)}]` : '';
        say(`          ANNOUNCE (${language}): ${message?.text ?? '(no text)'}${playing}`);
      }
  });

  say('');
  say('Dørvakt demo is running.');
  say(
    `  MQTT:      ${app.broker.kind === 'embedded' ? 'embedded broker (aedes)' : 'local broker'} at ${config.mqtt.url}, topics dorvakt/${config.site.id}/#`,
  );
  say(
    `  Dashboard: ${service.webUrl ?? `not started yet (port ${config.web.port} taken? alarm part_failed; retried)`}  (user admin, password ${adminPassword}; kept in ${join(demoDir, 'admin-password')})`,
  );
  // A taken port leaves the ops endpoints to their retries; the configured address is where they will be.
  const opsUrl = service.opsUrl ?? `http://${config.ops.host}:${config.ops.port}`;
  say(
    `  Health:    curl ${opsUrl}/healthz${service.opsUrl ? '' : '   (not started yet: port taken? retried)'}`,
  );
  say(`  State:     curl ${opsUrl}/api/state`);
  say(`  Library:   SIP2 simulator on 127.0.0.1:${sip2.port} (cp850, checksums on)`);
  say(
    `  Cameras:   recorder agent on ${recordings.root} (${recordings.files} demo segments over 9 days); footage older than 7 days is purged`,
  );
  say(`  Store:     ${config.store.path}`);
  say(`  Log:       ${logFile}`);
  const staffless = config.doors[0]!.schedule.staffless;
  say(
    `  Door mode: ${app.doors[0]!.scheduleState()} (schedule: ${staffless === DEMO_STAFFLESS ? 'staffless all day, closed 03:00-04:00' : `staffless ${staffless}`})`,
  );
  say(
    `  States:    ${app.states?.status().state ?? 'not started (alarm part_failed)'}; outputs lights, alarm, panel on demo/building/#; announcements ${announcements.minutes.join(', ')} min before closing, ${announcements.play ? `printed and played with ${player}` : 'printed (no player or no WAVs: bin/make-announcements.mjs makes them)'}`,
  );
  say('');
  if (pty) {
    const hostPty = realpathSync(pty.host);
    say(`Swipe a card by writing to the reader's pseudo-terminal (${hostPty}), e.g.:`);
    say(`  echo 10000001 > ${hostPty}`);
    say(`  printf 'garbage\\x01\\r\\n' > ${hostPty}     # a malformed frame: dropped, never a grant`);
  } else {
    say('socat is not installed: type card numbers here and press Enter.');
  }
  say('Demo cards:');
  for (const p of DEMO_CARDS) say(`  ${p.card}  ${p.what}`);
  say('  anything else: unknown card');
  if (pty) {
    say(
      'Type here to stage a fault: `ils down`, `ils up`, `force` (door forced open), `fire on`, `fire off`; `announce` says the closing announcement now.',
    );
    listenForCommands(service.app, sip2, say);
  }
  say('Ctrl-C stops the demo.');
  say('');

  const stop = async () => {
    say('stopping…');
    await agent.stop();
    await service.stop();
    await sip2.close();
    pty?.child.kill();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Registers the demo cards' consents (idempotent). */
function seedDemo(storePath: string, key: string): void {
  const db = openDb(storePath);
  const hash = cardHasher(key);
  const consents = new Consents(db);
  for (const p of DEMO_CARDS) {
    const status = consents.status(hash(p.card));
    if (p.agreement && status.agreement !== 'signed')
      consents.sign(hash(p.card), 'agreement', 'demo-1', Date.now(), 'demo');
    if (p.camera && status.camera !== 'signed')
      consents.sign(hash(p.card), 'camera', 'demo-1', Date.now(), 'demo');
  }
  db.close();
}

/** The demo's dashboard admin; the password is generated once and kept beside the demo store. */
async function ensureDemoAdmin(storePath: string, passwordFile: string): Promise<string> {
  const db = openDb(storePath);
  try {
    if (existsSync(passwordFile) && findUserByName(db, 'admin'))
      return readFileSync(passwordFile, 'utf8').trim();
    const password = randomBytes(9).toString('base64url');
    const existing = findUserByName(db, 'admin');
    if (existing) await setPassword(db, existing.id, password);
    else await addUser(db, { name: 'admin', role: 'admin', password, language: 'en' });
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    return password;
  } finally {
    db.close();
  }
}

/** Fake Frigate segments (recordings/YYYY-MM-DD/HH/<camera>/MM.SS.mp4, UTC), every 6 hours for 9 days. */
function seedRecordings(root: string): { root: string; files: number } {
  let files = 0;
  const now = Date.now();
  for (let t = now - 9 * 86_400_000; t < now; t += 6 * 3_600_000) {
    const at = new Date(t);
    const [day, time] = at.toISOString().split('T') as [string, string];
    for (const camera of ['entrance', 'hall']) {
      const dir = join(root, day, time.slice(0, 2), camera);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${time.slice(3, 5)}.${time.slice(6, 8)}.mp4`);
      if (!existsSync(file)) writeFileSync(file, 'demo segment\n');
      files++;
    }
  }
  return { root, files };
}

/** Lets a visitor stage faults from the demo's terminal. */
function listenForCommands(app: App, sip2: Sip2Simulator, say: (line: string) => void): void {
  const lines = createInterface({ input: process.stdin });
  const driver = app.doors[0]!.driver;
  lines.on('line', (line) => {
    const command = line.trim();
    if (command === 'ils down') sip2.setFault({ mode: 'down' });
    else if (command === 'ils up') sip2.setFault(null);
    else if (command === 'force' && driver instanceof SimDoorDriver) driver.simulateForce();
    else if (command === 'fire on' && driver instanceof SimDoorDriver) driver.setFire(true);
    else if (command === 'fire off' && driver instanceof SimDoorDriver) driver.setFire(false);
    else if (command === 'announce') {
      if (!app.states?.announceNow(15)) say('          no closing in the next days: nothing to announce');
    } else if (command) {
      say(`unknown command "${command}"`);
      return;
    }
    if (command) say(`          (${command})`);
  });
}
