import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeRequest } from '../../src/contract/nvr.ts';
import { EXPORT_CASE_PATTERN } from '../../src/contract/nvr.ts';
import { ExportRefused } from '../../src/contract/nvr-admin.ts';
import { caseDirName } from '../../src/nvr/controller.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  agentConfig,
  filesRoot,
  bodyOf,
  captureLog,
  type ControllerRig,
  DAY,
  frigatePath,
  listFiles,
  makeController,
  mqttClient,
  sealed,
  startAgent,
  testNvrConfig,
  writeSegment,
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

let topicSeq = 0;
/** Each test gets its own base topic, so retained status from one cannot reach another. */
function setup(overrides: Parameters<typeof testNvrConfig>[0] = {}) {
  const tmp = tempDir('nvr-ctl-');
  cleanups.push(() => tmp.cleanup());
  const base = `nvr${process.pid}-${++topicSeq}`;
  const config = testNvrConfig({ base_topic: base, ...overrides });
  const agentCfg = agentConfig(tmp.path, broker.url);
  agentCfg.mqtt.base_topic = base;
  const { log, lines } = captureLog();
  return { tmp: tmp.path, base, config, agentCfg, log, lines, dbPath: join(tmp.path, 'dorvakt.sqlite') };
}

async function controllerOn(
  s: ReturnType<typeof setup>,
  now?: () => Date,
): Promise<ControllerRig & { mqtt: MqttClient }> {
  const mqtt = await mqttClient(broker.url);
  const rig = makeController(s.dbPath, mqtt, s.log, s.config, now);
  rig.controller.start();
  cleanups.push(async () => {
    await rig.close();
    await mqtt.endAsync();
  });
  // Subscribed before anything is sent.
  await waitFor(() => mqtt.connected, 2000, 'controller connected');
  await new Promise((r) => setTimeout(r, 50));
  return { ...rig, mqtt };
}

async function agentOn(s: ReturnType<typeof setup>, now?: () => Date) {
  const agent = await startAgent(s.agentCfg, s.log, now);
  cleanups.push(() => agent.stop());
  await waitFor(() => s.lines.some((l) => l.msg === 'connected to broker'), 5000, 'agent connected');
  await new Promise((r) => setTimeout(r, 50));
  return agent;
}

const answered = (rig: ControllerRig, id: string) =>
  (
    rig.db.prepare('SELECT answered_at FROM nvr_outbox WHERE id = ?').get(id) as {
      answered_at: number | null;
    }
  ).answered_at !== null;

describe('controller and agent over a real broker', () => {
  it('purge request → verified answer; nothing older than retention is left', async () => {
    const s = setup();
    const rig = await controllerOn(s);
    await agentOn(s);
    const keep = frigatePath('door', Date.now() - 2 * DAY);
    writeSegment(filesRoot(s.agentCfg), keep);
    writeSegment(filesRoot(s.agentCfg), frigatePath('door', Date.now() - 8 * DAY));
    const id = rig.controller.purgeNow();
    await waitFor(() => answered(rig, id), 5000, 'answer');
    expect(listFiles(filesRoot(s.agentCfg))).toEqual([keep]);
    const h = rig.controller.health();
    expect(h.lastPurgeDeleted).toBe(1);
    expect(h.breach).toBe(false);
    expect(h.unreachable).toBe(false);
    expect(h.pendingRequests).toBe(0);
    expect(rig.alarms.list()).toEqual([]);
  });

  it('works over MQTT 3.1.1 too (the id in the payload is enough)', async () => {
    const s = setup();
    s.agentCfg.mqtt.protocol_version = 4;
    const mqtt = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 100 });
    const rig = makeController(s.dbPath, mqtt, s.log, s.config);
    rig.controller.start();
    cleanups.push(async () => {
      await rig.close();
      await mqtt.endAsync();
    });
    await agentOn(s);
    writeSegment(filesRoot(s.agentCfg), frigatePath('door', Date.now() - 8 * DAY));
    const id = rig.controller.purgeNow();
    await waitFor(() => answered(rig, id), 5000, 'answer');
    expect(rig.controller.health().lastPurgeDeleted).toBe(1);
  });

  it('a silent agent raises nvr_unreachable; the first answer clears it', async () => {
    const s = setup({ answer_timeout_ms: 50, max_tries: 2, backoff: { factor: 1, max_ms: 100 } });
    const rig = await controllerOn(s);
    const id = rig.controller.purgeNow();
    await waitFor(() => rig.alarms.isActive('nvr_unreachable'), 5000, 'nvr_unreachable');
    const tries = (rig.db.prepare('SELECT tries FROM nvr_outbox WHERE id = ?').get(id) as { tries: number })
      .tries;
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(rig.controller.health().unreachable).toBe(true);
    await agentOn(s);
    await waitFor(() => answered(rig, id), 5000, 'answer after the agent came');
    await waitFor(() => !rig.alarms.isActive('nvr_unreachable'), 2000, 'alarm cleared');
  });

  it('a broker killed and restarted mid-flight loses no request', async () => {
    const s = setup({ answer_timeout_ms: 200 });
    const rig = await controllerOn(s);
    await agentOn(s);
    writeSegment(filesRoot(s.agentCfg), frigatePath('door', Date.now() - 9 * DAY));
    // One request sent just before the broker dies, one queued while it is down.
    const first = rig.controller.purgeNow();
    await broker.kill();
    writeSegment(filesRoot(s.agentCfg), frigatePath('hall', Date.now() - 9 * DAY));
    const second = rig.controller.purgeNow();
    expect(rig.controller.health().pendingRequests).toBe(1); // the newer request supersedes the older
    await new Promise((r) => setTimeout(r, 150));
    await broker.start();
    await waitFor(() => answered(rig, second), 10_000, 'answer after the outage');
    expect(listFiles(filesRoot(s.agentCfg))).toEqual([]);
    const superseded = rig.db.prepare('SELECT superseded_at FROM nvr_outbox WHERE id = ?').get(first) as {
      superseded_at: number | null;
    };
    expect(answered(rig, first) || superseded.superseded_at !== null).toBe(true);
  });

  it('a restarted controller resends what was left unanswered', async () => {
    const s = setup();
    const first = await controllerOn(s);
    const id = first.controller.purgeNow();
    await waitFor(
      () =>
        (first.db.prepare('SELECT tries FROM nvr_outbox WHERE id = ?').get(id) as { tries: number }).tries >=
        1,
      2000,
      'sent once',
    );
    // The controller goes down with the request unanswered (no agent yet).
    await cleanups.pop()!();
    await agentOn(s);
    writeSegment(filesRoot(s.agentCfg), frigatePath('door', Date.now() - 9 * DAY));
    const second = await controllerOn(s);
    await waitFor(() => answered(second, id), 5000, 'resent request answered');
    expect(listFiles(filesRoot(s.agentCfg))).toEqual([]);
  });

  it('an agent reporting old footage raises retention_breach, cleared when it reports healthy again', async () => {
    const s = setup();
    const rig = await controllerOn(s);
    const fake = await mqttClient(broker.url);
    cleanups.push(async () => {
      await fake.publishAsync(`${s.base}/status`, '', { qos: 1, retain: true });
      await fake.endAsync();
    });
    const status = (oldest: number) => ({
      oldest: new Date(oldest).toISOString(),
      cameras: [{ name: 'door', oldest: new Date(oldest).toISOString(), files: 3 }],
      ts: new Date().toISOString(),
    });
    await fake.publishAsync(`${s.base}/status`, sealed(`${s.base}/status`, status(Date.now() - 10 * DAY)), {
      qos: 1,
      retain: true,
    });
    await waitFor(() => rig.alarms.isActive('retention_breach'), 3000, 'breach from status');
    expect(rig.controller.health().cameras[0]).toMatchObject({ name: 'door', files: 3 });
    await fake.publishAsync(`${s.base}/status`, sealed(`${s.base}/status`, status(Date.now() - 3 * DAY)), {
      qos: 1,
      retain: true,
    });
    await waitFor(() => !rig.alarms.isActive('retention_breach'), 3000, 'breach cleared');
  });

  it('a purge answer that leaves footage older than the cutoff raises retention_breach', async () => {
    const s = setup();
    const rig = await controllerOn(s);
    const fake = await mqttClient(broker.url);
    cleanups.push(() => fake.endAsync());
    let lie = true;
    fake.on('message', (_topic, payload) => {
      const req = bodyOf<PurgeRequest>(payload);
      const oldest = lie ? Date.parse(req.before) - DAY : Date.parse(req.before) + 60_000;
      void fake.publishAsync(
        `${s.base}/purge/response`,
        sealed(`${s.base}/purge/response`, {
          id: req.id,
          ok: true,
          deleted: 0,
          oldest: new Date(oldest).toISOString(),
        }),
        { qos: 1 },
      );
    });
    await fake.subscribeAsync(`${s.base}/purge/request`, { qos: 1 });
    const id = rig.controller.purgeNow();
    await waitFor(() => answered(rig, id), 3000, 'answer');
    expect(rig.alarms.isActive('retention_breach')).toBe(true);
    lie = false;
    const next = rig.controller.purgeNow();
    await waitFor(() => answered(rig, next), 3000, 'second answer');
    expect(rig.alarms.isActive('retention_breach')).toBe(false);
  });

  it('drops malformed answers with a log line and stores nothing', async () => {
    const s = setup({ answer_timeout_ms: 5000 });
    const rig = await controllerOn(s);
    const id = rig.controller.purgeNow();
    const fake = await mqttClient(broker.url);
    cleanups.push(() => fake.endAsync());
    const bad = [
      '{oops',
      sealed(`${s.base}/purge/response`, { id, ok: 'yes', deleted: 1, oldest: null }),
      sealed(`${s.base}/purge/response`, { id, ok: true, deleted: -1, oldest: null }),
      sealed(`${s.base}/purge/response`, { id, ok: true, deleted: 1, oldest: 'yesterday' }),
      'x'.repeat(70 * 1024),
    ];
    for (const b of bad) await fake.publishAsync(`${s.base}/purge/response`, b, { qos: 1 });
    await fake.publishAsync(
      `${s.base}/status`,
      sealed(`${s.base}/status`, { oldest: 5, cameras: [], ts: 'now' }),
      {
        qos: 1,
      },
    );
    await waitFor(
      () => s.lines.filter((l) => /rejected|dropped/.test(l.msg)).length === bad.length + 1,
      3000,
      'log lines',
    );
    expect(answered(rig, id)).toBe(false);
    expect(rig.controller.health().statusAt).toBeNull();
  });
});

describe('police export and legal hold', () => {
  it('derives a directory name the agent accepts from any valid case number', () => {
    const pattern = new RegExp(EXPORT_CASE_PATTERN);
    for (const n of ['2026/4711', 'ø-12/2026', 'Sak 15 123 456', '..', '---x', 'Å']) {
      const dir = caseDirName(n, 'abcdef12-3456');
      expect(dir).toMatch(pattern);
      expect(dir.endsWith('_abcdef12')).toBe(true);
    }
    expect(caseDirName('2026/4711', 'abcdef12')).toBe('2026_4711_abcdef12');
  });

  it('open → held → exported with a matching manifest hash → close → hold gone', async () => {
    const s = setup();
    const rig = await controllerOn(s);
    await agentOn(s);
    const root = filesRoot(s.agentCfg);
    const t = Date.now() - 5 * DAY;
    writeSegment(root, frigatePath('door', t), 'incident-1');
    writeSegment(root, frigatePath('door', t + 10_000), 'incident-2');
    writeSegment(root, frigatePath('hall', t), 'other camera');
    const spy = await mqttClient(broker.url);
    cleanups.push(() => spy.endAsync());
    const purges: PurgeRequest[] = [];
    spy.on('message', (_t, p) => purges.push(bodyOf<PurgeRequest>(p)));
    await spy.subscribeAsync(`${s.base}/purge/request`, { qos: 1 });

    const opened = rig.controller.openExport({
      caseNumber: '2026/4711',
      authority: 'Oslo politidistrikt',
      from: new Date(t - 5000).toISOString(),
      to: new Date(t + 15_000).toISOString(),
      cameras: ['door'],
      reason: 'reported break-in',
      actor: 'admin:kari',
    });
    expect(opened.state).toBe('held');
    // The window is on hold from the moment it is opened: the next purge carries it.
    const pid = rig.controller.purgeNow();
    await waitFor(() => purges.find((p) => p.id === pid), 3000, 'purge with hold');
    // The sealed body names the case folder, so the agent knows the case is still open.
    expect(purges.find((p) => p.id === pid)!.holds).toEqual([
      { from: opened.from, to: opened.to, cameras: ['door'], case: caseDirName('2026/4711', opened.id) },
    ]);

    const done = await waitFor(
      () => rig.controller.listExports().find((c) => c.state === 'exported'),
      5000,
      'exported',
    );
    expect(done.files).toBe(2);
    const manifest = readFileSync(join(done.location!, 'manifest.json'));
    expect(createHash('sha256').update(manifest).digest('hex')).toBe(done.sha256);

    const closed = rig.controller.closeExport(done.id, 'admin:kari', 'delivered to police on USB');
    expect(closed.state).toBe('closed');
    const after = rig.controller.purgeNow();
    await waitFor(() => purges.find((p) => p.id === after), 3000, 'purge after close');
    expect(purges.find((p) => p.id === after)!.holds).toEqual([]);

    const actions = (
      rig.db.prepare('SELECT action FROM audit WHERE subject = ? ORDER BY id').all(done.id) as {
        action: string;
      }[]
    ).map((a) => a.action);
    expect(actions).toEqual([
      'nvr.export.open',
      'nvr.export.accepted',
      'nvr.export.done',
      'nvr.export.close',
    ]);
  });

  it('an export accepted by an agent that then vanished is asked for again and finished by the next agent', async () => {
    const s = setup({ backoff: { factor: 2, max_ms: 400 } });
    const rig = await controllerOn(s);
    const t = Date.now() - DAY;
    writeSegment(filesRoot(s.agentCfg), frigatePath('door', t), 'x');
    // A stand-in agent accepts and then disappears without finishing.
    const quitter = await mqttClient(broker.url);
    let accepted = 0;
    quitter.on('message', (_t, p) => {
      const req = bodyOf<{ id: string }>(p);
      accepted++;
      void quitter.publishAsync(
        `${s.base}/export/response`,
        sealed(`${s.base}/export/response`, { id: req.id, ok: true, state: 'accepted' }),
        {
          qos: 1,
        },
      );
    });
    await quitter.subscribeAsync(`${s.base}/export/request`, { qos: 1 });
    const opened = rig.controller.openExport({
      caseNumber: 'K-9',
      authority: 'police',
      from: new Date(t - 1000).toISOString(),
      to: new Date(t + 1000).toISOString(),
      cameras: [],
      reason: 'incident',
      actor: 'admin',
    });
    await waitFor(() => rig.controller.getExport(opened.id).state === 'requested', 3000, 'accepted');
    await quitter.endAsync();
    expect(accepted).toBeGreaterThanOrEqual(1);
    await agentOn(s);
    const done = await waitFor(
      () => rig.controller.getExport(opened.id).state === 'exported' && rig.controller.getExport(opened.id),
      5000,
      'exported by the second agent',
    );
    expect(done.files).toBe(1);
  });

  it('held footage survives a purge once it is past retention', async () => {
    let clock = Date.now();
    const s = setup();
    const rig = await controllerOn(s, () => new Date(clock));
    // Both ends on the same clock: a request signed three days ahead of the agent's clock would be refused.
    await agentOn(s, () => new Date(clock));
    const root = filesRoot(s.agentCfg);
    const t = clock - 5 * DAY;
    writeSegment(root, frigatePath('door', t));
    writeSegment(root, frigatePath('door', t + 3_600_000)); // outside the window
    rig.controller.openExport({
      caseNumber: 'K-1',
      authority: 'police',
      from: new Date(t - 1000).toISOString(),
      to: new Date(t + 1000).toISOString(),
      cameras: [],
      reason: 'incident',
      actor: 'admin',
    });
    await waitFor(() => rig.controller.listExports()[0]?.state === 'exported', 5000, 'exported');
    clock += 3 * DAY; // both segments are now older than 7 days
    const id = rig.controller.purgeNow();
    await waitFor(() => answered(rig, id), 5000, 'answer');
    expect(listFiles(root)).toEqual([frigatePath('door', t)]);
    expect(rig.alarms.isActive('retention_breach')).toBe(false);
  });

  it("a closed case's export folder past retention is stale_exports on the agent and retention_breach on the controller; an open case's is not", async () => {
    let clock = Date.now();
    const s = setup();
    s.agentCfg.hold_max_days = 10;
    const rig = await controllerOn(s, () => new Date(clock));
    const agent = await agentOn(s, () => new Date(clock));
    const root = filesRoot(s.agentCfg);
    const t = clock - 2 * DAY;
    writeSegment(root, frigatePath('door', t), 'closed case');
    writeSegment(root, frigatePath('hall', t), 'open case');
    const open = (caseNumber: string, camera: string) =>
      rig.controller.openExport({
        caseNumber,
        authority: 'police',
        from: new Date(t - 1000).toISOString(),
        to: new Date(t + 1000).toISOString(),
        cameras: [camera],
        reason: 'incident',
        actor: 'admin',
      });
    const closed = open('K-10', 'door');
    const kept = open('K-11', 'hall');
    await waitFor(
      () => rig.controller.listExports().every((c) => c.state === 'exported'),
      5000,
      'both exported',
    );
    rig.controller.closeExport(closed.id, 'admin', 'delivered to police');
    // Past the agent's hold_max_days (10) and the retention (7), within the controller's (30): K-11 is open only
    // because the purge list names it.
    clock += 12 * DAY;
    const sealedPurges: PurgeRequest[] = [];
    const spy = await mqttClient(broker.url);
    cleanups.push(() => spy.endAsync());
    spy.on('message', (_t, p) => sealedPurges.push(bodyOf<PurgeRequest>(p)));
    await spy.subscribeAsync(`${s.base}/purge/request`, { qos: 1 });
    const id = rig.controller.purgeNow();
    await waitFor(() => answered(rig, id), 5000, 'answer');
    const body = await waitFor(() => sealedPurges.find((p) => p.id === id), 3000, 'sealed purge');
    expect(body.holds.map((h) => h.case)).toEqual([caseDirName('K-11', kept.id)]);
    const closedDir = caseDirName('K-10', closed.id);
    await waitFor(() => agent.status?.findings?.some((f) => f.kind === 'stale_exports'), 5000, 'finding');
    expect(agent.status?.findings?.filter((f) => f.kind === 'stale_exports')).toEqual([
      {
        kind: 'stale_exports',
        detail: `exports/${closedDir} belongs to no open case: delete it after delivery`,
        count: 1,
        oldest: expect.any(String),
      },
    ]);
    const breach = await waitFor(
      () =>
        rig.alarms.list().find((a) => a.code === 'retention_breach' && /stale_exports/.test(a.detail ?? '')),
      5000,
      'retention_breach naming stale_exports',
    );
    expect(breach.detail).toContain(`stale_exports: exports/${closedDir} belongs to no open case`);
    expect(breach.detail).not.toContain(caseDirName('K-11', kept.id));
    // The agent deletes neither copy; the renewed case's originals are still held.
    expect(listFiles(s.agentCfg.exports_dir).filter((f) => f.endsWith('manifest.json'))).toHaveLength(2);
    expect(listFiles(root)).toEqual([frigatePath('hall', t)]);
  });

  it('refuses a window already past retention, and invalid input, with a clear message', async () => {
    const s = setup({ cameras: ['door', 'hall'] });
    const rig = makeController(s.dbPath, null, s.log, s.config);
    cleanups.push(() => rig.close());
    const base = {
      caseNumber: 'K-2',
      authority: 'police',
      cameras: ['door'],
      reason: 'incident',
      actor: 'admin',
    };
    const old = () =>
      rig.controller.openExport({
        ...base,
        from: new Date(Date.now() - 8 * DAY).toISOString(),
        to: new Date(Date.now() - 6 * DAY).toISOString(),
      });
    expect(old).toThrow(ExportRefused);
    expect(old).toThrow(/already been deleted/);
    const window = {
      from: new Date(Date.now() - DAY).toISOString(),
      to: new Date(Date.now() - DAY + 60_000).toISOString(),
    };
    expect(() => rig.controller.openExport({ ...base, ...window, cameras: ['../etc'] })).toThrow(
      /not a valid camera/,
    );
    expect(() => rig.controller.openExport({ ...base, ...window, cameras: ['garage'] })).toThrow(
      /unknown camera/,
    );
    // A refusal carries its times as data, for a page to show them in the site's zone.
    try {
      old();
    } catch (error) {
      expect((error as ExportRefused).detail).toMatchObject({ code: 'before_retention', days: 7 });
    }
    expect(() => rig.controller.openExport({ ...base, ...window, reason: ' ' })).toThrow(/reason/);
    expect(() => rig.controller.openExport({ ...base, ...window, from: 'yesterday' })).toThrow(/ISO-8601/);
    expect(() => rig.controller.openExport({ ...base, from: window.to, to: window.from })).toThrow(
      /end after/,
    );
    expect(rig.controller.listExports()).toEqual([]);
    expect(rig.db.prepare('SELECT COUNT(*) AS n FROM nvr_outbox').get()).toEqual({ n: 0 });
    // A camera typed in another case is the configured one, sent in the configured spelling.
    const anyCase = rig.controller.openExport({ ...base, ...window, caseNumber: 'K-3', cameras: ['DOOR'] });
    expect(anyCase.cameras).toEqual(['door']);
  });

  it('refuses a window wider than nvr.max_window_hours or ending in the future, and sends nothing for it', async () => {
    const s = setup();
    const rig = makeController(s.dbPath, null, s.log, s.config);
    cleanups.push(() => rig.close());
    const base = { caseNumber: 'K-3', authority: 'police', cameras: [], reason: 'incident', actor: 'admin' };
    // One reading of the clock for every window: two readings a millisecond apart made the 24 h window 24 h 1 ms
    // (CI, under libfaketime).
    const t = Date.now();
    // Wider than nvr.max_window_hours (24 h by default): refused at once, naming the limit and the width.
    const wide = () =>
      rig.controller.openExport({
        ...base,
        from: new Date(t - 3 * DAY).toISOString(),
        to: new Date(t - 3 * DAY + 25 * 3_600_000).toISOString(),
      });
    expect(wide).toThrow(/25 h wide, more than nvr\.max_window_hours \(24 h\)/);
    expect(() =>
      rig.controller.openExport({
        ...base,
        from: new Date(t - 3 * DAY).toISOString(),
        to: new Date(t - 3 * DAY + 24 * 3_600_000).toISOString(),
      }),
    ).not.toThrow();
    expect(() =>
      rig.controller.openExport({
        ...base,
        from: new Date(t - 60_000).toISOString(),
        to: new Date(t + 3_600_000).toISOString(),
      }),
    ).toThrow(/future/);
    // Only the 24 h window was opened and sent.
    expect(rig.controller.listExports()).toHaveLength(1);
    expect(rig.db.prepare('SELECT COUNT(*) AS n FROM nvr_outbox').get()).toEqual({ n: 1 });
  });

  it('a hold expires after hold_max_days unless renewed with a reason', async () => {
    let clock = Date.now();
    const s = setup({ hold_max_days: 30 });
    const rig = makeController(s.dbPath, null, s.log, s.config, () => new Date(clock));
    cleanups.push(() => rig.close());
    const open = (caseNumber: string) =>
      rig.controller.openExport({
        caseNumber,
        authority: 'police',
        from: new Date(clock - DAY).toISOString(),
        to: new Date(clock - DAY + 60_000).toISOString(),
        cameras: [],
        reason: 'incident',
        actor: 'admin',
      });
    const a = open('A');
    const b = open('B');
    clock += 20 * DAY;
    expect(() => rig.controller.renewHold(b.id, 'admin', '')).toThrow(/reason/);
    const renewed = rig.controller.renewHold(b.id, 'admin', 'court case pending');
    expect(Date.parse(renewed.holdExpiresAt)).toBe(clock + 30 * DAY);
    clock += 11 * DAY;
    const cases = rig.controller.listExports();
    expect(cases.find((c) => c.id === a.id)?.state).toBe('expired');
    expect(cases.find((c) => c.id === b.id)?.state).toBe('held');
    expect(() => rig.controller.closeExport(a.id, 'admin', 'late')).toThrow(/already expired/);
    const expiredAudit = rig.db.prepare("SELECT actor FROM audit WHERE action = 'nvr.hold.expired'").all();
    expect(expiredAudit).toEqual([{ actor: 'system' }]);
    // A purge carries only the renewed hold.
    rig.controller.purgeNow();
    const payload = rig.db.prepare("SELECT payload FROM nvr_outbox WHERE kind = 'purge'").get() as {
      payload: string;
    };
    expect((JSON.parse(payload.payload) as PurgeRequest).holds).toHaveLength(1);
  });
});
