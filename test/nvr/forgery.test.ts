/**
 * The NVR contract against someone who can publish on the broker: forged, unsigned, replayed, re-topiced,
 * stale and far-future messages, over a real Mosquitto, change nothing and raise `nvr_forgery`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NvrStatus, PurgeRequest } from '../../src/contract/nvr.ts';
import { type NvrKey, seal } from '../../src/contract/nvr-auth.ts';
import type { NvrAgent } from '../../src/nvr-agent/agent.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import { startOpsServer } from '../../src/ops/server.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  agentConfig,
  bodyOf,
  captureLog,
  type ControllerRig,
  DAY,
  frigatePath,
  listTree,
  makeController,
  mqttClient,
  sealed,
  startAgent,
  TEST_KEY,
  testNvrConfig,
  writeKey,
  writeSegment,
  filesRoot,
} from './helpers.ts';

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const OTHER: NvrKey = { id: TEST_KEY.id, secret: 'an-attacker-guess-of-the-key-0123456789' };
const NEW: NvrKey = { id: 'new-2', secret: 'the-rotated-in-key-abcdefghijklmnopqrstuv' };
const ago = (ms: number) => new Date(Date.now() - ms);
const Y9999 = new Date('9999-12-31T23:00:00.000Z');

let seq = 0;
function setup() {
  const tmp = tempDir('nvr-forge-');
  cleanups.push(() => tmp.cleanup());
  const base = `forge${process.pid}-${++seq}`;
  const { log, lines } = captureLog();
  const agentCfg = agentConfig(tmp.path, broker.url);
  agentCfg.mqtt.base_topic = base;
  const t = {
    purgeRequest: `${base}/purge/request`,
    purgeResponse: `${base}/purge/response`,
    exportRequest: `${base}/export/request`,
    exportResponse: `${base}/export/response`,
    status: `${base}/status`,
  };
  return { tmp: tmp.path, base, t, log, lines, agentCfg, dbPath: join(tmp.path, 'dorvakt.sqlite') };
}
type Setup = ReturnType<typeof setup>;

async function controllerOn(s: Setup, keys: NvrKey[] = [TEST_KEY], dbPath = s.dbPath) {
  const mqtt = await mqttClient(broker.url);
  const metrics = new Metrics();
  const rig = makeController(
    dbPath,
    mqtt,
    s.log,
    testNvrConfig({ base_topic: s.base }),
    undefined,
    keys,
    (r) => metrics.nvrRejected.inc({ reason: r }),
  );
  rig.controller.start();
  const ops = await startOpsServer(
    {
      doors: () => [],
      alarms: () => rig.alarms.list(),
      health: () => ({ ok: true, checks: {} }),
      metrics,
      startedAt: 0,
    },
    '127.0.0.1',
    0,
  );
  const stop = async () => {
    await ops.close();
    await rig.close();
    await mqtt.endAsync();
  };
  cleanups.push(stop);
  await waitFor(() => mqtt.connected, 2000, 'controller connected');
  await new Promise((r) => setTimeout(r, 50));
  /** dorvakt_nvr_rejected_total by reason, read from /metrics. */
  const rejected = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${ops.url}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^dorvakt_nvr_rejected_total\{reason="([a-z_]+)"\} (\d+)$/gm))
      out[m[1]!] = Number(m[2]);
    return out;
  };
  return { ...rig, mqtt, rejected, stop };
}

async function agentOn(s: Setup) {
  const agent = await startAgent(s.agentCfg, s.log);
  cleanups.push(() => agent.stop());
  await waitFor(() => s.lines.some((l) => l.msg === 'connected to broker'), 5000, 'agent connected');
  await new Promise((r) => setTimeout(r, 50));
  return agent;
}

/** A raw client recording every payload on the NVR topics, bytes as sent. */
async function spyOn(s: Setup) {
  const client = await mqttClient(broker.url);
  cleanups.push(() => client.endAsync());
  const seen: { topic: string; payload: Buffer }[] = [];
  client.on('message', (topic, payload) => {
    if (payload.length > 0) seen.push({ topic, payload: Buffer.from(payload) });
  });
  await client.subscribeAsync(`${s.base}/#`, { qos: 1 });
  return { client, seen, on: (topic: string) => seen.filter((m) => m.topic === topic) };
}

const answered = (rig: ControllerRig) =>
  rig.db.prepare('SELECT id, answer FROM nvr_outbox WHERE answered_at IS NOT NULL ORDER BY id').all();
const dropped = (s: Setup, msg: string) => s.lines.filter((l) => l.msg === msg);

describe('the agent drops what it cannot trust', () => {
  it('forged, unsigned, replayed, re-topiced, stale and year-9999 requests change nothing; the controller raises nvr_forgery', async () => {
    const s = setup();
    const rig = await controllerOn(s);
    const spy = await spyOn(s);
    const agent: NvrAgent = await agentOn(s);
    const root = filesRoot(s.agentCfg);
    writeSegment(root, frigatePath('door', Date.now() - 9 * DAY));
    // A genuine request, captured on the wire, then answered.
    const id = rig.controller.purgeNow();
    await waitFor(() => answered(rig).length === 1, 5000, 'genuine purge answered');
    const genuineRequest = (await waitFor(() => spy.on(s.t.purgeRequest).at(-1), 3000, 'request seen'))
      .payload;
    // The spy may get the answer a moment after the controller does.
    const genuineAnswer = (await waitFor(() => spy.on(s.t.purgeResponse).at(-1), 3000, 'answer seen'))
      .payload;
    expect(bodyOf<PurgeRequest>(genuineRequest).id).toBe(id);
    await agent.idle();

    // Footage that only a (hostile) purge would remove; a state file that a year-9999 hold list would replace.
    writeSegment(root, frigatePath('door', Date.now() - 8 * DAY));
    writeSegment(root, frigatePath('hall', Date.now() - 2 * 3_600_000));
    const tree = listTree(root);
    const state = readFileSync(s.agentCfg.state_file, 'utf8');
    const answersBefore = spy.on(s.t.purgeResponse).length + spy.on(s.t.exportResponse).length;

    const wipe = (ts: string): PurgeRequest => ({
      id: `evil-${ts.slice(0, 4)}`,
      before: Y9999.toISOString(),
      cameras: [],
      holds: [],
      ts,
    });
    const now = new Date().toISOString();
    const everything = {
      id: 'evil-export',
      case: 'all',
      from: '0000-01-01T00:00:00.000Z',
      to: '9999-12-31T00:00:00.000Z',
      cameras: [],
      ts: now,
    };
    const hostile: [string, string | Buffer, string][] = [
      [s.t.purgeRequest, seal(OTHER, s.t.purgeRequest, wipe(now)), 'bad_mac'],
      [s.t.purgeRequest, JSON.stringify(wipe(now)), 'unsigned'],
      [s.t.purgeRequest, genuineRequest, 'replay'],
      [s.t.purgeRequest, genuineAnswer, 'bad_mac'], // an answer republished as a request
      [s.t.purgeRequest, sealed(s.t.purgeRequest, wipe(now), TEST_KEY, ago(10 * 60_000)), 'replay'],
      [s.t.purgeRequest, sealed(s.t.purgeRequest, wipe(Y9999.toISOString()), TEST_KEY, Y9999), 'replay'],
      // Signed now, but the request itself claims year 9999: its hold list would outrank every later one.
      [s.t.purgeRequest, sealed(s.t.purgeRequest, wipe(Y9999.toISOString())), 'bad_time'],
      [s.t.purgeRequest, seal({ ...OTHER, id: 'stolen' }, s.t.purgeRequest, wipe(now)), 'unknown_key'],
      [s.t.exportRequest, seal(OTHER, s.t.exportRequest, everything), 'bad_mac'],
      [s.t.exportRequest, JSON.stringify(everything), 'unsigned'],
    ];
    for (const [topic, payload] of hostile) await spy.client.publishAsync(topic, payload, { qos: 1 });
    await waitFor(
      () => dropped(s, 'request dropped').length === hostile.length,
      5000,
      'every request dropped',
    );
    expect(dropped(s, 'request dropped').map((l) => l.reason)).toEqual(hostile.map((h) => h[2]));
    // Logged without the payload.
    expect(JSON.stringify(dropped(s, 'request dropped'))).not.toContain('evil');
    await agent.idle();

    expect(listTree(root)).toEqual(tree);
    expect(readFileSync(s.agentCfg.state_file, 'utf8')).toBe(state);
    expect(existsSync(join(s.agentCfg.exports_dir, 'all'))).toBe(false);
    expect(spy.on(s.t.purgeResponse).length + spy.on(s.t.exportResponse).length).toBe(answersBefore);
    // The agent reports its drops in its status; the controller raises the alarm from them.
    const status = await waitFor(
      () =>
        spy
          .on(s.t.status)
          .map((m) => bodyOf<NvrStatus>(m.payload))
          .find((st) => st.rejected?.unsigned === 2),
      5000,
      'status with the counts',
    );
    expect(status.rejected).toEqual({ bad_mac: 3, bad_time: 1, replay: 3, unknown_key: 1, unsigned: 2 });
    await waitFor(() => rig.alarms.isActive('nvr_forgery'), 5000, 'nvr_forgery on the controller');
    expect(rig.alarms.list().find((a) => a.code === 'nvr_forgery')?.detail).toMatch(/recorder agent dropped/);
  });

  it('a QoS-1 redelivery (DUP) of a request it already handled is a duplicate, not an alarm', async () => {
    const s = setup();
    const rig = await controllerOn(s);
    const agent = await agentOn(s);
    const client = (agent as unknown as { client: MqttClient }).client;
    // Cut the connection while the first request is being handled, before its PUBACK leaves:
    // the broker keeps the session (clean: false) and redelivers the request with DUP set.
    let cut = false;
    client.on('message', () => {
      if (cut) return;
      cut = true;
      client.stream.destroy();
    });
    const id = rig.controller.purgeNow();
    await waitFor(
      () => s.lines.some((l) => l.msg === 'request dropped' && l.reason === 'duplicate'),
      8000,
      'the redelivery recognised',
    );
    await waitFor(() => answered(rig).some((r) => (r as { id: string }).id === id), 5000, 'answered');
    await waitFor(() => agent.status?.rejected?.duplicate === 1, 5000, 'counted in the status');
    await new Promise((r) => setTimeout(r, 1500)); // the status with the count reaches the controller
    expect(agent.status?.rejected).toEqual({ duplicate: 1 });
    expect(rig.alarms.isActive('nvr_forgery')).toBe(false);
    expect(await rig.rejected()).toEqual({});
  });
});

describe('the controller drops what it cannot trust', () => {
  it('forged, unsigned, re-topiced, stale, year-9999 and replayed answers change nothing, raise nvr_forgery and count in /metrics', async () => {
    const s = setup();
    const rig = await controllerOn(s);
    const spy = await spyOn(s);
    const id = rig.controller.purgeNow();
    await waitFor(() => spy.on(s.t.purgeRequest).length > 0, 3000, 'request out');
    const lie = { id, ok: true, deleted: 0, oldest: null };
    const hostile: [string, string | Buffer][] = [
      [s.t.purgeResponse, seal(OTHER, s.t.purgeResponse, lie)],
      [s.t.purgeResponse, JSON.stringify(lie)],
      [s.t.purgeResponse, sealed(s.t.status, lie)], // sealed for another topic
      [s.t.purgeResponse, sealed(s.t.purgeResponse, lie, TEST_KEY, ago(10 * 60_000))],
      [s.t.purgeResponse, sealed(s.t.purgeResponse, lie, TEST_KEY, Y9999)],
      [s.t.purgeResponse, seal({ id: 'nobody', secret: OTHER.secret }, s.t.purgeResponse, lie)],
      [s.t.purgeResponse, '{"v":1,"mac":"00"}'],
    ];
    for (const [topic, payload] of hostile) await spy.client.publishAsync(topic, payload, { qos: 1 });
    await waitFor(() => dropped(s, 'nvr: message dropped').length === hostile.length, 5000, 'all dropped');
    expect(answered(rig)).toEqual([]);
    expect(rig.controller.health().lastPurgeAnsweredAt).toBeNull();
    expect(rig.alarms.isActive('nvr_forgery')).toBe(true);
    expect(rig.controller.health().forgery).toBe(true);
    expect(await rig.rejected()).toEqual({
      bad_mac: 2,
      malformed: 1,
      replay: 2,
      unknown_key: 1,
      unsigned: 1,
    });

    // A genuine answer is taken; the same bytes again are a replay.
    const genuine = sealed(s.t.purgeResponse, lie);
    await spy.client.publishAsync(s.t.purgeResponse, genuine, { qos: 1 });
    await waitFor(() => answered(rig).length === 1, 3000, 'genuine answer');
    await spy.client.publishAsync(s.t.purgeResponse, genuine, { qos: 1 });
    await waitFor(async () => (await rig.rejected()).replay === 3, 3000, 'replay counted');
  });

  it('an export "done" is taken only signed and inside the case directory the request named', async () => {
    const s = setup();
    const rig = await controllerOn(s);
    const spy = await spyOn(s);
    const t = Date.now() - DAY;
    const opened = rig.controller.openExport({
      caseNumber: 'K-7',
      authority: 'police',
      from: new Date(t).toISOString(),
      to: new Date(t + 60_000).toISOString(),
      cameras: [],
      reason: 'incident',
      actor: 'admin',
    });
    const request = await waitFor(() => spy.on(s.t.exportRequest).at(-1), 3000, 'export request');
    const { id, case: dir } = bodyOf<{ id: string; case: string }>(request.payload);
    const done = (location: string) => ({
      id,
      ok: true,
      state: 'done',
      location,
      sha256: 'a'.repeat(64),
      files: 1,
    });
    for (const payload of [
      seal(OTHER, s.t.exportResponse, done(`/srv/exports/${dir}`)),
      JSON.stringify(done(`/srv/exports/${dir}`)),
      sealed(s.t.exportResponse, done('/srv/exports/other-case')),
      sealed(s.t.exportResponse, done(`/srv/exports/${dir}/../../etc`)),
      sealed(s.t.exportResponse, done(`/srv/exports/${dir}x`)),
    ])
      await spy.client.publishAsync(s.t.exportResponse, payload, { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(rig.controller.getExport(opened.id)).toMatchObject({
      state: 'held',
      location: null,
      sha256: null,
    });
    expect(s.lines.filter((l) => /outside the case directory/.test(l.msg))).toHaveLength(3);
    await spy.client.publishAsync(
      s.t.exportResponse,
      sealed(s.t.exportResponse, done(`/srv/exports/${dir}`)),
      {
        qos: 1,
      },
    );
    await waitFor(() => rig.controller.getExport(opened.id).state === 'exported', 3000, 'exported');
    expect(rig.controller.getExport(opened.id).location).toBe(`/srv/exports/${dir}`);
  });
});

describe('sealing at send time and clearing the alarm', () => {
  it('every resend of a request carries a fresh ts and nonce; the outbox keeps the plain body', async () => {
    const s = setup();
    const spy = await spyOn(s);
    const mqtt = await mqttClient(broker.url);
    const rig = makeController(
      s.dbPath,
      mqtt,
      s.log,
      testNvrConfig({ base_topic: s.base, answer_timeout_ms: 50, backoff: { factor: 1, max_ms: 100 } }),
    );
    cleanups.push(async () => {
      await rig.close();
      await mqtt.endAsync();
    });
    rig.controller.start();
    await waitFor(() => mqtt.connected, 2000, 'connected');
    const id = rig.controller.purgeNow();
    const sends = await waitFor(
      () => spy.on(s.t.purgeRequest).length >= 3 && spy.on(s.t.purgeRequest),
      5000,
      'resends',
    );
    const envelopes = sends.map(
      (m) => JSON.parse(m.payload.toString()) as { nonce: string; ts: string; body: { id: string } },
    );
    expect(new Set(envelopes.map((e) => e.nonce)).size).toBe(envelopes.length);
    expect(new Set(envelopes.map((e) => e.ts)).size).toBeGreaterThan(1);
    expect(envelopes.every((e) => e.body.id === id)).toBe(true);
    const stored = rig.db.prepare('SELECT payload FROM nvr_outbox WHERE id = ?').get(id) as {
      payload: string;
    };
    expect(JSON.parse(stored.payload)).toEqual(envelopes[0]!.body);
  });

  it('nvr_forgery clears after forgery_quiet_hours without a new forgery, not before', async () => {
    const s = setup();
    let clock = Date.now();
    const mqtt = await mqttClient(broker.url);
    const rig = makeController(
      s.dbPath,
      mqtt,
      s.log,
      testNvrConfig({ base_topic: s.base }),
      () => new Date(clock),
    );
    cleanups.push(async () => {
      await rig.close();
      await mqtt.endAsync();
    });
    rig.controller.start();
    await waitFor(() => mqtt.connected, 2000, 'connected');
    await new Promise((r) => setTimeout(r, 50));
    const spy = await spyOn(s);
    const forge = () =>
      spy.client.publishAsync(
        s.t.purgeResponse,
        JSON.stringify({ id: 'x', ok: true, deleted: 0, oldest: null }),
        { qos: 1 },
      );
    await forge();
    await waitFor(() => rig.alarms.isActive('nvr_forgery'), 3000, 'raised');
    clock += 23 * 3_600_000;
    await forge(); // a new forgery restarts the quiet period
    await waitFor(() => dropped(s, 'nvr: message dropped').length === 2, 3000, 'second forgery');
    clock += 23 * 3_600_000;
    rig.controller.tick();
    expect(rig.alarms.isActive('nvr_forgery')).toBe(true);
    clock += 3_600_000;
    rig.controller.tick();
    expect(rig.alarms.isActive('nvr_forgery')).toBe(false);
  });
});

describe('the retained status', () => {
  const status = (oldestAgoMs: number): NvrStatus => ({
    oldest: ago(oldestAgoMs).toISOString(),
    cameras: [{ name: 'door', oldest: ago(oldestAgoMs).toISOString(), files: 1 }],
    ts: new Date().toISOString(),
  });

  it('neither a forged nor a replayed old genuine status clears retention_breach, before or after a restart', async () => {
    const s = setup();
    const publisher = await mqttClient(broker.url);
    cleanups.push(async () => {
      await publisher.publishAsync(s.t.status, '', { qos: 1, retain: true });
      await publisher.endAsync();
    });
    const rig = await controllerOn(s);
    // Genuine statuses: healthy first (captured), then one showing footage past retention.
    const healthy = sealed(s.t.status, status(DAY), TEST_KEY, ago(2000));
    await publisher.publishAsync(s.t.status, healthy, { qos: 1, retain: true });
    await waitFor(() => rig.controller.health().statusAt !== null, 3000, 'healthy status');
    await publisher.publishAsync(s.t.status, sealed(s.t.status, status(10 * DAY)), { qos: 1, retain: true });
    await waitFor(() => rig.alarms.isActive('retention_breach'), 3000, 'breach');

    await publisher.publishAsync(s.t.status, seal(OTHER, s.t.status, status(DAY)), { qos: 1, retain: true });
    await publisher.publishAsync(s.t.status, JSON.stringify(status(DAY)), { qos: 1, retain: true });
    await publisher.publishAsync(s.t.status, healthy, { qos: 1, retain: true }); // the replay, left retained
    await waitFor(async () => Object.keys(await rig.rejected()).length === 3, 3000, 'all three dropped');
    expect(await rig.rejected()).toEqual({ bad_mac: 1, unsigned: 1, replay: 1 });
    expect(rig.alarms.isActive('retention_breach')).toBe(true);
    expect(rig.alarms.isActive('nvr_forgery')).toBe(true);

    // A restarted controller (empty replay cache) gets the replayed status as the retained one.
    await rig.stop();
    cleanups.splice(cleanups.indexOf(rig.stop), 1);
    const again = await controllerOn(s);
    await waitFor(async () => (await again.rejected()).stale === 1, 3000, 'retained replay seen as stale');
    again.controller.tick();
    expect(again.alarms.isActive('retention_breach')).toBe(true);
    expect(Date.parse(again.controller.health().oldest!)).toBeLessThan(Date.now() - 9 * DAY);
  });

  it('a retained status older than the skew window is stale: ignored, counted, no alarm', async () => {
    const s = setup();
    const publisher = await mqttClient(broker.url);
    cleanups.push(async () => {
      await publisher.publishAsync(s.t.status, '', { qos: 1, retain: true });
      await publisher.endAsync();
    });
    // Shows no breach: were it believed, it would clear one.
    await publisher.publishAsync(s.t.status, sealed(s.t.status, status(DAY), TEST_KEY, ago(3_600_000)), {
      qos: 1,
      retain: true,
    });
    const rig = await controllerOn(s);
    await waitFor(async () => (await rig.rejected()).stale === 1, 3000, 'stale counted');
    expect(rig.controller.health().statusAt).toBeNull();
    expect(rig.alarms.isActive('nvr_forgery')).toBe(false);
  });
});

describe('agent keys', () => {
  it('the agent refuses to start with a short or unreadable key, naming it but not the secret', async () => {
    const s = setup();
    s.agentCfg.auth.keys = [
      { id: 'short', secret_file: writeKey(s.tmp, { id: 'short', secret: 'x'.repeat(31) }, 's.key') },
    ];
    await expect(startAgent(s.agentCfg, s.log)).rejects.toThrow(/short must be at least 32/);
    s.agentCfg.auth.keys = [{ id: 'gone', secret_file: join(s.tmp, 'missing.key') }];
    await expect(startAgent(s.agentCfg, s.log)).rejects.toThrow(/gone: cannot read .*ENOENT/);
    s.agentCfg.auth.keys = [{ id: 'env', secret_env: 'DORVAKT_TEST_UNSET_NVR_KEY' }];
    await expect(startAgent(s.agentCfg, s.log)).rejects.toThrow(/DORVAKT_TEST_UNSET_NVR_KEY is not set/);
  });
});

describe('key rotation over the broker', () => {
  it('agent with [new, old]: the controller signing with old, then with new, is answered; a retired key is refused', async () => {
    const s = setup();
    s.agentCfg.auth.keys = [
      { id: NEW.id, secret_file: writeKey(s.tmp, NEW, 'new.key') },
      { id: TEST_KEY.id, secret_file: writeKey(s.tmp, TEST_KEY, 'old.key') },
    ];
    const agent = await agentOn(s);
    // Step 1: the controller still signs with old, and already verifies new (the agent signs with new).
    const first = await controllerOn(s, [TEST_KEY, NEW]);
    const a = first.controller.purgeNow();
    await waitFor(() => answered(first).some((r) => (r as { id: string }).id === a), 5000, 'answered (old)');
    await first.stop();
    cleanups.splice(cleanups.indexOf(first.stop), 1);
    // Step 2: the controller signs with new.
    const second = await controllerOn(s, [NEW, TEST_KEY]);
    const b = second.controller.purgeNow();
    await waitFor(() => answered(second).some((r) => (r as { id: string }).id === b), 5000, 'answered (new)');
    expect(second.alarms.isActive('nvr_forgery')).toBe(false);
    await second.stop();
    cleanups.splice(cleanups.indexOf(second.stop), 1);
    // Step 3: old is retired on the agent; a controller still signing with it is refused.
    await agent.stop();
    s.agentCfg.auth.keys = [{ id: NEW.id, secret_file: writeKey(s.tmp, NEW, 'new.key') }];
    s.agentCfg.mqtt.client_id += '-b';
    await startAgent(s.agentCfg, s.log).then((ag) => cleanups.push(() => ag.stop()));
    await new Promise((r) => setTimeout(r, 200));
    const third = await controllerOn(s, [TEST_KEY, NEW]);
    const c = third.controller.purgeNow();
    await waitFor(
      () => s.lines.some((l) => l.msg === 'request dropped' && l.reason === 'unknown_key'),
      5000,
      'refused',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(answered(third).some((r) => (r as { id: string }).id === c)).toBe(false);
  });
});
