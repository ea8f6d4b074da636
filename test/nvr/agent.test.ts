import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExportResponse, NvrStatus, PurgeRequest, PurgeResponse } from '../../src/contract/nvr.ts';
import type { NvrAgent } from '../../src/nvr-agent/agent.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  agentConfig,
  filesRoot,
  bodyOf,
  captureLog,
  DAY,
  frigatePath,
  listFiles,
  listTree,
  mqttClient,
  sealed,
  startAgent,
  TEST_KEY,
  writeKey,
  writeSegment,
} from './helpers.ts';

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Rig {
  dir: string;
  root: string;
  agent: NvrAgent;
  lines: ReturnType<typeof captureLog>['lines'];
  client: MqttClient;
  purgeAnswers: PurgeResponse[];
  exportAnswers: ExportResponse[];
  statuses: NvrStatus[];
  config: ReturnType<typeof agentConfig>;
}

async function rig(seed: (root: string) => void = () => undefined, base = 'nvr'): Promise<Rig> {
  const tmp = tempDir('nvr-agent-');
  cleanups.push(() => tmp.cleanup());
  const config = agentConfig(tmp.path, broker.url, {});
  config.mqtt.base_topic = base;
  seed(filesRoot(config));
  const { log, lines } = captureLog();
  const client = await mqttClient(broker.url);
  cleanups.push(() => client.endAsync());
  const purgeAnswers: PurgeResponse[] = [];
  const exportAnswers: ExportResponse[] = [];
  const statuses: NvrStatus[] = [];
  client.on('message', (topic, payload) => {
    const data = bodyOf<never>(payload);
    if (topic === `${base}/purge/response`) purgeAnswers.push(data);
    else if (topic === `${base}/export/response`) exportAnswers.push(data);
    else if (topic === `${base}/status`) statuses.push(data);
  });
  await client.subscribeAsync([`${base}/purge/response`, `${base}/export/response`, `${base}/status`], {
    qos: 1,
  });
  const agent = await startAgent(config, log);
  cleanups.push(() => agent.stop());
  // The agent subscribes once connected; wait for that before publishing requests.
  await waitFor(() => lines.some((l) => l.msg === 'connected to broker'), 5000, 'agent connected');
  await new Promise((r) => setTimeout(r, 50));
  return {
    dir: tmp.path,
    root: filesRoot(config),
    agent,
    lines,
    client,
    purgeAnswers,
    exportAnswers,
    statuses,
    config,
  };
}

const now = () => Date.now();
const purgeRequest = (over: Partial<PurgeRequest> = {}): PurgeRequest => ({
  id: `p-${Math.random().toString(36).slice(2)}`,
  before: new Date(now() - 7 * DAY).toISOString(),
  cameras: [],
  holds: [],
  ts: new Date().toISOString(),
  ...over,
});

describe('nvr agent over a real broker', () => {
  it('purges on request, answers, and answers a repeated id with the same answer', async () => {
    const oldTime = now() - 9 * DAY;
    const recent = frigatePath('door', now() - 2 * DAY);
    const r = await rig((root) => writeSegment(root, recent));
    // Footage older than retention appearing later (e.g. a restored disk) is what a request must remove.
    writeSegment(r.root, frigatePath('door', oldTime));
    writeSegment(r.root, frigatePath('hall', oldTime + 60_000));
    const req = purgeRequest();
    await r.client.publishAsync('nvr/purge/request', sealed('nvr/purge/request', req), { qos: 1 });
    const first = await waitFor(() => r.purgeAnswers.find((a) => a.id === req.id), 5000, 'purge answer');
    expect(first).toMatchObject({ id: req.id, ok: true, deleted: 2 });
    expect(Date.parse(first.oldest!)).toBeGreaterThan(Date.parse(req.before));
    expect(listFiles(r.root)).toEqual([recent]);

    await r.client.publishAsync('nvr/purge/request', sealed('nvr/purge/request', req), { qos: 1 });
    await waitFor(() => r.purgeAnswers.filter((a) => a.id === req.id).length === 2, 5000, 'second answer');
    expect(r.purgeAnswers.filter((a) => a.id === req.id)[1]).toEqual(first);
    // The retained status reports what is left.
    const status = await waitFor(() => r.statuses.at(-1), 5000, 'status');
    expect(status.cameras.find((c) => c.name === 'door')?.files).toBe(1);
    expect(status.oldest).toBe(first.oldest);
  });

  it('keeps footage under a hold from the request, and remembers it for its own purge after a restart', async () => {
    const held = now() - 9 * DAY;
    const r = await rig();
    writeSegment(r.root, frigatePath('door', held));
    writeSegment(r.root, frigatePath('hall', held));
    const req = purgeRequest({
      holds: [
        {
          from: new Date(held - 60_000).toISOString(),
          to: new Date(held + 60_000).toISOString(),
          cameras: ['door'],
        },
      ],
    });
    await r.client.publishAsync('nvr/purge/request', sealed('nvr/purge/request', req), { qos: 1 });
    const answer = await waitFor(() => r.purgeAnswers.find((a) => a.id === req.id), 5000, 'answer');
    expect(answer.deleted).toBe(1);
    expect(answer.oldest).toBeNull(); // the only footage left is held
    expect(listFiles(r.root)).toEqual([frigatePath('door', held)]);

    await r.agent.stop();
    const second = captureLog();
    const again = await startAgent(r.config, second.log);
    cleanups.push(() => again.stop());
    const result = await again.ownPurge();
    expect(result?.held).toBe(1);
    expect(listFiles(r.root)).toEqual([frigatePath('door', held)]);
    // Answers survive the restart too: the same id gets the same answer, not a fresh purge's.
    await waitFor(() => second.lines.some((l) => l.msg === 'connected to broker'), 5000, 'reconnected');
    await new Promise((res) => setTimeout(res, 50));
    await r.client.publishAsync('nvr/purge/request', sealed('nvr/purge/request', req), { qos: 1 });
    await waitFor(() => r.purgeAnswers.filter((a) => a.id === req.id).length === 2, 5000, 'repeated answer');
    expect(r.purgeAnswers.filter((a) => a.id === req.id)[1]).toEqual(answer);
  });

  it('rejects malformed and hostile payloads with a log line and changes nothing', async () => {
    const r = await rig();
    const oldTime = now() - 9 * DAY;
    writeSegment(r.root, frigatePath('door', oldTime));
    const before = listTree(r.root);
    const rejectedBefore = r.lines.filter((l) => /rejected|dropped/.test(l.msg)).length;
    const bad: { topic: string; payload: string | Buffer }[] = [
      { topic: 'nvr/purge/request', payload: '{not json' },
      { topic: 'nvr/purge/request', payload: Buffer.alloc(70 * 1024, 0x20) },
      { topic: 'nvr/purge/request', payload: JSON.stringify({ ...purgeRequest(), before: 12345 }) },
      { topic: 'nvr/purge/request', payload: JSON.stringify({ ...purgeRequest(), cameras: ['../etc'] }) },
      { topic: 'nvr/purge/request', payload: JSON.stringify({ ...purgeRequest(), cameras: ['/abs'] }) },
      { topic: 'nvr/purge/request', payload: JSON.stringify({ ...purgeRequest(), id: '../../x' }) },
      { topic: 'nvr/purge/request', payload: JSON.stringify({ ...purgeRequest(), extra: true }) },
      {
        topic: 'nvr/purge/request',
        payload: JSON.stringify({ ...purgeRequest(), before: '2026-13-45T99:00:00Z' }),
      },
      { topic: 'nvr/purge/request', payload: JSON.stringify([1, 2]) },
      { topic: 'nvr/purge/request', payload: 'null' },
      {
        topic: 'nvr/purge/request',
        payload: JSON.stringify({
          ...purgeRequest(),
          holds: [{ from: new Date().toISOString(), to: new Date().toISOString(), cameras: ['a/../b'] }],
        }),
      },
      {
        topic: 'nvr/export/request',
        payload: JSON.stringify({
          id: 'e1',
          case: '../../etc',
          from: new Date(oldTime).toISOString(),
          to: new Date().toISOString(),
          cameras: [],
          ts: new Date().toISOString(),
        }),
      },
      {
        topic: 'nvr/export/request',
        payload: JSON.stringify({
          id: 'e2',
          case: '/tmp/x',
          from: new Date(oldTime).toISOString(),
          to: new Date().toISOString(),
          cameras: [],
          ts: new Date().toISOString(),
        }),
      },
      {
        topic: 'nvr/export/request',
        payload: JSON.stringify({
          id: 'e3',
          case: 'ok',
          from: new Date().toISOString(),
          to: new Date(oldTime).toISOString(),
          cameras: [],
          ts: new Date().toISOString(),
        }),
      },
    ];
    // Well-formed JSON objects go sealed, so the request checks behind the signature are what is tested;
    // the rest cannot be sealed and are dropped by the envelope check.
    const wire = (topic: string, payload: string | Buffer) => {
      try {
        const v = JSON.parse(payload.toString()) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) return sealed(topic, v);
      } catch {}
      return payload;
    };
    for (const b of bad) await r.client.publishAsync(b.topic, wire(b.topic, b.payload), { qos: 1 });
    await waitFor(
      () => r.lines.filter((l) => /rejected|dropped/.test(l.msg)).length - rejectedBefore === bad.length,
      5000,
      'a log line per bad payload',
    );
    const rejected = r.lines.filter((l) => /rejected|dropped/.test(l.msg)).slice(rejectedBefore);
    expect(rejected.every((l) => l.level === 40 && typeof l.why === 'string')).toBe(true);
    expect(rejected.some((l) => String(l.why).includes('too large'))).toBe(true);
    expect(rejected.some((l) => l.why === 'not JSON')).toBe(true);
    await r.agent.idle();
    expect(listTree(r.root)).toEqual(before);
    expect(existsSync(join(r.config.exports_dir))).toBe(false);
    expect(r.purgeAnswers).toEqual([]);
    expect(r.exportAnswers).toEqual([]);
  });

  it('refuses a cutoff that would delete current footage, answering with an error', async () => {
    const r = await rig();
    writeSegment(r.root, frigatePath('door', now() - 60_000));
    const before = listTree(r.root);
    const req = purgeRequest({ before: new Date(now() + DAY).toISOString() });
    await r.client.publishAsync('nvr/purge/request', sealed('nvr/purge/request', req), { qos: 1 });
    const answer = await waitFor(() => r.purgeAnswers.find((a) => a.id === req.id), 5000, 'answer');
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatch(/refused/);
    expect(listTree(r.root)).toEqual(before);
  });

  it('answers with an error when the recordings root is gone (an unmounted disk is not "no footage")', async () => {
    const r = await rig();
    rmSync(r.root, { recursive: true });
    const req = purgeRequest();
    await r.client.publishAsync('nvr/purge/request', sealed('nvr/purge/request', req), { qos: 1 });
    const answer = await waitFor(() => r.purgeAnswers.find((a) => a.id === req.id), 5000, 'answer');
    expect(answer).toMatchObject({ ok: false, deleted: 0 });
    expect(answer.error).toMatch(/missing/);
  });

  it('exports a window with a manifest whose sha256 is in the answer', async () => {
    const t = now() - 3 * DAY;
    const r = await rig((root) => {
      writeSegment(root, frigatePath('door', t), 'door-1');
      writeSegment(root, frigatePath('door', t + 10_000), 'door-2');
      writeSegment(root, frigatePath('hall', t), 'hall-1');
      writeSegment(root, frigatePath('door', t + 3_600_000), 'later');
    });
    const req = {
      id: 'exp-1',
      case: '2026-42_abcd',
      from: new Date(t - 1000).toISOString(),
      to: new Date(t + 15_000).toISOString(),
      cameras: ['door'],
      ts: new Date().toISOString(),
    };
    await r.client.publishAsync('nvr/export/request', sealed('nvr/export/request', req), { qos: 1 });
    const done = await waitFor(
      () => r.exportAnswers.find((a) => a.id === 'exp-1' && a.state === 'done'),
      5000,
      'done',
    );
    expect(r.exportAnswers[0]?.state).toBe('accepted');
    expect(done.location).toBe(join(r.config.exports_dir, '2026-42_abcd'));
    expect(done.files).toBe(2);
    const manifestBytes = readFileSync(join(done.location!, 'manifest.json'));
    expect(createHash('sha256').update(manifestBytes).digest('hex')).toBe(done.sha256);
    const manifest = JSON.parse(manifestBytes.toString()) as {
      files: { path: string; size: number; sha256: string }[];
    };
    expect(manifest.files.map((f) => f.path)).toEqual([
      frigatePath('door', t),
      frigatePath('door', t + 10_000),
    ]);
    for (const f of manifest.files) {
      const copy = readFileSync(join(done.location!, f.path));
      expect(createHash('sha256').update(copy).digest('hex')).toBe(f.sha256);
      expect(copy.length).toBe(f.size);
    }
    // A repeated request is answered from disk, identically.
    await r.client.publishAsync('nvr/export/request', sealed('nvr/export/request', req), { qos: 1 });
    await waitFor(() => r.exportAnswers.filter((a) => a.state === 'done').length === 2, 5000, 'second done');
    expect(r.exportAnswers.filter((a) => a.state === 'done')[1]).toEqual(done);
  });
});

describe('dorvakt-nvr-agent entry point', () => {
  it('starts from a YAML config, speaks MQTT 3.1.1 when told, answers, and stops on SIGTERM', async () => {
    const tmp = tempDir('nvr-bin-');
    cleanups.push(() => tmp.cleanup());
    const root = join(tmp.path, 'rec');
    const old = frigatePath('cam1', now() - 30 * DAY);
    writeSegment(root, old);
    writeKey(tmp.path);
    const file = join(tmp.path, 'agent.yaml');
    writeFileSync(
      file,
      [
        'mqtt:',
        `  url: ${broker.url}`,
        '  base_topic: bin-test',
        `  client_id: bin-${process.pid}`,
        '  protocol_version: 4',
        'recordings:',
        '  root: rec',
        'exports_dir: exports',
        'state_file: state/agent.json',
        "purge_cron: '0 0 1 1 *'",
        'log_level: warn',
        'auth:',
        `  keys: [{ id: ${TEST_KEY.id}, secret_file: nvr.key }]`,
        '',
      ].join('\n'),
    );
    const client = await mqttClient(broker.url);
    cleanups.push(() => client.endAsync());
    const statuses: NvrStatus[] = [];
    const answers: PurgeResponse[] = [];
    client.on('message', (t, p) => {
      if (!p.length) return;
      if (t === 'bin-test/status') statuses.push(bodyOf(p));
      else answers.push(bodyOf(p));
    });
    await client.subscribeAsync(['bin-test/status', 'bin-test/purge/response'], { qos: 1 });
    const child = spawn(process.execPath, ['bin/dorvakt-nvr-agent.mjs', '--config', file], {
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await client.publishAsync('bin-test/status', '', { qos: 1, retain: true });
    });
    // Its start-up purge removes footage past retention and publishes the retained status.
    const status = await waitFor(() => statuses.at(-1), 15_000, 'status from the agent process');
    expect(status.cameras).toEqual([{ name: 'cam1', oldest: null, files: 0 }]);
    expect(listFiles(root)).toEqual([]);
    const req = purgeRequest();
    await client.publishAsync('bin-test/purge/request', sealed('bin-test/purge/request', req), { qos: 1 });
    const answer = await waitFor(
      () => answers.find((a) => a.id === req.id),
      5000,
      'answer from the agent process',
    );
    expect(answer).toEqual({ id: req.id, ok: true, deleted: 0, oldest: null });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
