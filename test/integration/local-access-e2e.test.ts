import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { DEMO_SIP2_PATRONS, type Sip2Simulator, startSip2Simulator } from '../../src/ils/simulator.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Service, startService } from '../../src/service.ts';
import { addUser } from '../../src/web/users.ts';
import { httpLogin } from '../helpers/http-login.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

const CARD = '10000001'; // valid in the SIP2 simulator, both consents signed below

/**
 * The real service (door process and its worker), a pty reader, the sim door, a real SQLite file and the SIP2
 * simulator over TCP: a card the library system says is fine is refused once `dorvakt block add` (another
 * process) put it on the site's list; the dashboard's emergency mode reaches the door and MQTT.
 */
describe('block list and emergency mode through the real service', () => {
  let broker: Broker;
  let sip2: Sip2Simulator;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let service: Service;
  let configFile: string;
  let events: Record<string, unknown>[] = [];
  let subscriber: mqtt.MqttClient;
  let unlocks = 0;

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    sip2 = await startSip2Simulator({ encoding: 'cp850', errorDetection: true, patrons: DEMO_SIP2_PATRONS });
    dir = tempDir('local-access-e2e-');
    writeFileSync(join(dir.path, 'key'), 'local-access-e2e-site-key-0123456789');
    chmodSync(join(dir.path, 'key'), 0o600);
    const [opsPort, webPort] = [await freePort(), await freePort()];
    const yaml = `
site: { id: blocke2e, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: main
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
patrons: { source: sip2, offline_policy: deny }
ils:
  host: 127.0.0.1
  port: ${sip2.port}
  institution: DEMO
  encoding: cp850
  error_detection: true
  cache_seconds: 0
  request_timeout_ms: 1000
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
ops: { port: ${opsPort} }
web: { port: ${webPort} }
log: { level: silent }
`;
    configFile = join(dir.path, 'dorvakt.yaml');
    writeFileSync(configFile, yaml);
    service = await startService({ config: parseConfig(yaml), log: createLogger('silent') });
    service.app.doors[0]!.door.onRelayWrite((_at, unlocked) => {
      if (unlocked) unlocks++;
    });
    for (const kind of ['agreement', 'camera'] as const)
      service.app.consents.sign(service.app.hashCard(CARD), kind, '2026-1', Date.now(), 'test');
    await addUser(service.app.db, {
      name: 'ada',
      role: 'admin',
      password: 'correct horse battery',
      language: 'en',
    });
    subscriber = await mqtt.connectAsync(broker.url);
    subscriber.on('message', (_topic, payload) => events.push(JSON.parse(String(payload))));
    await subscriber.subscribeAsync('dorvakt/blocke2e/event', { qos: 1 });
    await waitFor(() => service.app.doors[0]!.reader.online, 5000, 'reader online');
    await waitFor(() => service.webUrl !== undefined, 30_000, 'the dashboard');
  }, 120_000);

  afterAll(async () => {
    await subscriber?.endAsync();
    await service?.stop();
    await pty?.close();
    await sip2?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  const entryCount = () => service.app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
  async function swipe(): Promise<{ outcome: string; reason: string }> {
    const before = entryCount();
    pty.write(`${CARD}\r\n`);
    await waitFor(() => entryCount() > before, 10_000, 'the swipe to be decided');
    return service.app.db.prepare('SELECT outcome, reason FROM entries ORDER BY id DESC LIMIT 1').get() as {
      outcome: string;
      reason: string;
    };
  }
  const cli = (args: string[], input: string) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/dorvakt.mjs', ...args, '--config', configFile], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('exit', (code) => resolve({ code, stderr }));
      child.stdin.end(input);
    });

  it('a card blocked by the CLI is refused with blocked_locally though SIP2 says OK, without asking SIP2', async () => {
    expect(await swipe()).toEqual({ outcome: 'granted', reason: 'allow' });
    const expires = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const added = await cli(
      ['block', 'add', '--card', '-', '--note', 'threatened staff', '--expires', expires],
      `${CARD}\n`,
    );
    expect(added.code, added.stderr).toBe(0);
    const asked = sip2.stats.patronRequests;
    const unlocksBefore = unlocks;
    expect(await swipe()).toEqual({ outcome: 'denied', reason: 'blocked_locally' });
    expect(sip2.stats.patronRequests).toBe(asked);
    await new Promise((r) => setTimeout(r, 150));
    expect(unlocks).toBe(unlocksBefore);
    const entry = events.findLast((e) => e.type === 'entry');
    expect(entry).toMatchObject({ outcome: 'denied', reason: 'blocked_locally' });
    const removed = await cli(['block', 'remove', '--card', '-', '--reason', 'lifted'], `${CARD}\n`);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await swipe()).toEqual({ outcome: 'granted', reason: 'allow' });
  }, 120_000);

  it('emergency nobody from the dashboard refuses at the next swipe and is published on MQTT at once', async () => {
    const base = service.webUrl!;
    const cookie = await httpLogin(base, 'ada', 'correct horse battery');
    const now = await (await fetch(`${base}/now`, { headers: { cookie } })).text();
    const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(now)![1]!;
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    events = [];
    const set = await fetch(`${base}/emergency`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({
        _csrf: csrf,
        mode: 'nobody',
        until_date: tomorrow,
        until_time: '12:00',
        reason: 'water leak',
      }),
    });
    expect(set.status).toBe(303);
    // The worker asked the door process to re-read: the event comes well before the 2 s poll would.
    const started = await waitFor(
      () => events.find((e) => e.type === 'emergency'),
      1500,
      'the emergency event',
    );
    expect(started).toMatchObject({ v: 2, type: 'emergency', state: 'started', mode: 'nobody', ended: null });
    expect(JSON.stringify(started)).not.toContain('water');
    expect(await swipe()).toEqual({ outcome: 'denied', reason: 'emergency_closed' });
    expect(await (await fetch(`${base}/entries`, { headers: { cookie } })).text()).toContain(
      'id="emergency-banner"',
    );
    const ended = await fetch(`${base}/emergency/end`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(ended.status).toBe(303);
    await waitFor(
      () => events.find((e) => e.type === 'emergency' && e.state === 'ended'),
      1500,
      'the end event',
    );
    expect(await swipe()).toEqual({ outcome: 'granted', reason: 'allow' });
    const audit = service.app.db
      .prepare(
        "SELECT actor, action FROM audit WHERE action LIKE 'emergency.%' OR action LIKE 'block.%' ORDER BY id",
      )
      .all();
    expect(audit).toEqual([
      { actor: expect.stringMatching(/^cli:/), action: 'block.added' },
      { actor: expect.stringMatching(/^cli:/), action: 'block.removed' },
      { actor: 'ada', action: 'emergency.set' },
      { actor: 'ada', action: 'emergency.ended' },
    ]);
  }, 60_000);
});
