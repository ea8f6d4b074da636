/** The agent's export and hold rules over a real broker: a hold is a copy, and what it may refuse or delete. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  ExportRequest,
  ExportResponse,
  NvrStatus,
  PurgeRequest,
  PurgeResponse,
} from '../../src/contract/nvr.ts';
import { parseNvrStatus } from '../../src/nvr/messages.ts';
import { NvrAgent } from '../../src/nvr-agent/agent.ts';
import type { AgentConfig } from '../../src/nvr-agent/config.ts';
import type { Recorder } from '../../src/nvr-agent/recorder.ts';
import { parsePurgeRequest } from '../../src/nvr-agent/requests.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  agentConfig,
  bodyOf,
  captureLog,
  DAY,
  filesRoot,
  frigatePath,
  listFiles,
  listTree,
  mp4File,
  mqttClient,
  sealed,
  TEST_KEY,
  writeSegment,
} from './helpers.ts';

/** A request's window: one second either side of `t`. */
const secondEitherSide = (t: number) => ({
  from: new Date(t - 1000).toISOString(),
  to: new Date(t + 1000).toISOString(),
});

const HOUR = 3_600_000;
let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;
interface Rig {
  root: string;
  config: AgentConfig;
  agent: NvrAgent;
  lines: ReturnType<typeof captureLog>['lines'];
  client: MqttClient;
  clock: { now: number };
  purgeAnswers: PurgeResponse[];
  exportAnswers: ExportResponse[];
  statuses: NvrStatus[];
  purge(over?: Partial<PurgeRequest>): Promise<PurgeResponse>;
  exportReq(over?: Partial<ExportRequest>): Promise<ExportResponse>;
  restart(): Promise<void>;
}

async function rig(
  overrides: Partial<AgentConfig> = {},
  seed: (root: string, dir: string) => void = () => {},
): Promise<Rig> {
  const tmp = tempDir('nvr-holds-');
  cleanups.push(() => tmp.cleanup());
  const base = `holds${process.pid}-${++seq}`;
  const config = agentConfig(tmp.path, broker.url, overrides);
  config.mqtt.base_topic = base;
  const root = filesRoot(config);
  seed(root, tmp.path);
  // Whole seconds, as Frigate's paths name them.
  const clock = { now: Math.floor(Date.now() / 1000) * 1000 };
  const { log, lines } = captureLog();
  const client = await mqttClient(broker.url);
  cleanups.push(() => client.endAsync());
  const purgeAnswers: PurgeResponse[] = [];
  const exportAnswers: ExportResponse[] = [];
  const statuses: NvrStatus[] = [];
  client.on('message', (topic, payload) => {
    if (payload.length === 0) return;
    const data = bodyOf<never>(payload);
    if (topic === `${base}/purge/response`) purgeAnswers.push(data);
    else if (topic === `${base}/export/response`) exportAnswers.push(data);
    else if (topic === `${base}/status`) {
      // What the controller would accept, byte for byte.
      expect(parseNvrStatus(Buffer.from(JSON.stringify(data)))).toMatchObject({ ok: true });
      statuses.push(data);
    }
  });
  await client.subscribeAsync([`${base}/purge/response`, `${base}/export/response`, `${base}/status`], {
    qos: 1,
  });
  cleanups.push(() => client.publishAsync(`${base}/status`, '', { qos: 1, retain: true }));
  const start = async () => {
    const agent = new NvrAgent({
      config,
      log,
      now: () => new Date(clock.now),
      mqttOptions: { reconnectPeriod: 100 },
    });
    const connected = lines.filter((l) => l.msg === 'connected to broker').length;
    await agent.start();
    await agent.idle();
    await waitFor(
      () => lines.filter((l) => l.msg === 'connected to broker').length > connected,
      5000,
      'agent connected',
    );
    await new Promise((r) => setTimeout(r, 50));
    return agent;
  };
  const r: Rig = {
    root,
    config,
    agent: await start(),
    lines,
    client,
    clock,
    purgeAnswers,
    exportAnswers,
    statuses,
    async purge(over = {}) {
      const req: PurgeRequest = {
        id: `p-${++seq}`,
        before: new Date(clock.now - 7 * DAY).toISOString(),
        cameras: [],
        holds: [],
        ts: new Date(clock.now).toISOString(),
        ...over,
      };
      const topic = `${base}/purge/request`;
      await client.publishAsync(topic, sealed(topic, req, TEST_KEY, new Date(clock.now)), { qos: 1 });
      return waitFor(() => purgeAnswers.find((a) => a.id === req.id), 5000, `purge answer ${req.id}`);
    },
    async exportReq(over = {}) {
      const req: ExportRequest = {
        id: `e-${++seq}`,
        case: `case-${seq}`,
        from: new Date(clock.now - 2 * DAY).toISOString(),
        to: new Date(clock.now - 2 * DAY + HOUR).toISOString(),
        cameras: [],
        ts: new Date(clock.now).toISOString(),
        ...over,
      };
      const topic = `${base}/export/request`;
      await client.publishAsync(topic, sealed(topic, req, TEST_KEY, new Date(clock.now)), { qos: 1 });
      return waitFor(
        () => exportAnswers.find((a) => a.id === req.id && a.state !== 'accepted'),
        5000,
        `export answer ${req.id}`,
      );
    },
    async restart() {
      await r.agent.stop();
      r.agent = await start();
    },
  };
  cleanups.push(() => r.agent.stop());
  return r;
}

describe('cameras named as Frigate allows them', () => {
  it('purges, exports and reports cameras _back and -side', async () => {
    const r = await rig();
    const t = r.clock.now - 2 * DAY;
    for (const cam of ['_back', '-side']) {
      writeSegment(r.root, frigatePath(cam, r.clock.now - 9 * DAY));
      writeSegment(r.root, frigatePath(cam, t), `${cam} footage`);
    }
    const answer = await r.purge();
    expect(answer).toMatchObject({ ok: true, deleted: 2, oldest: new Date(t).toISOString() });
    const status = r.statuses.at(-1)!;
    expect(status.cameras).toEqual([
      { name: '_back', oldest: new Date(t).toISOString(), files: 1 },
      { name: '-side', oldest: new Date(t).toISOString(), files: 1 },
    ]);
    const done = await r.exportReq({
      ...secondEitherSide(t),
      cameras: ['-side'],
    });
    expect(done).toMatchObject({ ok: true, state: 'done', files: 1 });
    expect(readFileSync(join(done.location!, frigatePath('-side', t)), 'utf8')).toBe('-side footage');
  });
});

describe('places the agent skips', () => {
  it('are in the status (skipped and a finding each) and never read as no footage', async () => {
    const r = await rig({}, (root) => {
      mkdirSync(join(root, 'lost+found'));
    });
    const t = r.clock.now - 2 * DAY;
    const [day, hour] = frigatePath('door', t).split('/');
    mkdirSync(join(r.root, day!, hour!, 'bad name'), { recursive: true });
    writeFileSync(join(r.root, day!, hour!, 'bad name', '00.00.mp4'), 'x');
    await r.agent.ownPurge();
    const status = r.agent.status!;
    expect(status.skipped).toEqual([
      { path: `${day}/${hour}/bad name`, why: 'camera name outside [A-Za-z0-9_-]{1,64}' },
      { path: 'lost+found', why: 'not a day directory (YYYY-MM-DD)' },
    ]);
    expect(status.findings?.filter((f) => f.kind === 'skipped')).toHaveLength(2);
    // No readable footage at all, yet oldest is not null: lost+found names no time, so it counts as the epoch.
    expect(status.cameras).toEqual([]);
    expect(status.oldest).toBe(new Date(0).toISOString());
    expect(status.recorder).toMatchObject({ kind: 'files', purges: true });
    await waitFor(() => r.statuses.at(-1)?.skipped?.length === 2, 5000, 'retained status with skipped');
  });

  it('a tree full of strays still gives a status the controller accepts (the lists are shortened, not the payload dropped)', async () => {
    const r = await rig({}, (root) => {
      for (let i = 0; i < 300; i++) mkdirSync(join(root, `${String(i).padStart(3, '0')}-${'x'.repeat(240)}`));
    });
    await r.agent.ownPurge();
    const status = await waitFor(() => r.statuses.find((x) => (x.skipped?.length ?? 0) > 0), 5000, 'status');
    expect(Buffer.byteLength(JSON.stringify(status))).toBeLessThanOrEqual(32 * 1024);
    expect(status.skipped?.at(-1)?.why).toMatch(/more places skipped/);
    expect(status.oldest).toBe(new Date(0).toISOString());
  });

  it('any recorder: skipped places with no footage read make oldest the epoch, never null', async () => {
    const tmp = tempDir('nvr-stub-');
    cleanups.push(() => tmp.cleanup());
    const description = { kind: 'files' as const, version: null, purges: true, note: 'stub' };
    const stub: Recorder = {
      start: async () => description,
      describe: () => description,
      purge: async () => ({
        deleted: 0,
        held: 0,
        oldest: null,
        cameras: [],
        skipped: [{ path: 'api/door', why: 'HTTP 500' }],
        errors: 0,
        calls: 1,
      }),
      segments: async () => ({ segments: [], skipped: [] }),
      copySegment: async () => undefined,
      configFindings: async () => [],
      stop: async () => undefined,
    };
    const agent = new NvrAgent({
      config: agentConfig(tmp.path, broker.url),
      log: captureLog().log,
      recorder: stub,
    });
    await agent.ownPurge();
    expect(agent.status).toMatchObject({
      oldest: new Date(0).toISOString(),
      skipped: [{ path: 'api/door' }],
    });
    expect(agent.status?.findings).toEqual([{ kind: 'skipped', detail: 'api/door was not read: HTTP 500' }]);
    // Footage left before the cutoff (a recorder that could not delete it) is a `recordings` finding.
    const left = Date.now() - 8 * DAY;
    stub.purge = async () => ({
      deleted: 0,
      held: 0,
      oldest: left,
      cameras: [{ name: 'door', oldest: left, files: 1 }],
      skipped: [],
      errors: 1,
      calls: 1,
    });
    await agent.ownPurge();
    expect(agent.status?.findings).toMatchObject([
      { kind: 'recordings', camera: 'door', oldest: new Date(left).toISOString() },
    ]);
  });
});

describe('exports: a hold is a copy, within limits', () => {
  it('refuses windows too wide, outside retention, in the future, and over budget: clear errors, nothing changed', async () => {
    const r = await rig({ exports_budget_mb: 1 }, (root, dir) => {
      // An earlier case still on disk uses most of the budget.
      mkdirSync(join(dir, 'exports', 'old-case'), { recursive: true });
      writeFileSync(join(dir, 'exports', 'old-case', 'a.mp4'), Buffer.alloc(900 * 1024));
      void root;
    });
    const t = r.clock.now - 2 * DAY;
    writeSegment(r.root, frigatePath('door', t), Buffer.alloc(200 * 1024, 1));
    writeSegment(r.root, frigatePath('door', r.clock.now - 6 * DAY));
    const recordings = listTree(r.root);
    const exportsBefore = listTree(r.config.exports_dir);
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases: [Partial<ExportRequest>, RegExp][] = [
      [
        { from: iso(t - 13 * HOUR), to: iso(t + 12 * HOUR) },
        /25 h wide, more than max_window_hours \(24 h\)/,
      ],
      [
        { from: iso(r.clock.now - 7 * DAY - HOUR), to: iso(r.clock.now - 7 * DAY + HOUR) },
        /before the retention period \(retention_days 7/,
      ],
      [{ from: iso(r.clock.now - HOUR), to: iso(r.clock.now + HOUR) }, /ends in the future/],
      // Within the signing skew but ahead of the agent's clock (further ahead is dropped unanswered, bad_time).
      [{ ts: iso(r.clock.now + 2 * 60_000) }, /request time .* is in the future/],
      [
        { from: iso(t - 1000), to: iso(t + 1000) },
        /over exports_budget_mb \(1 MB\): existing exports use 0\.9 MB and this window needs 0\.2 MB/,
      ],
    ];
    for (const [over, error] of cases) {
      const answer = await r.exportReq(over);
      expect(answer).toMatchObject({ ok: false, state: 'failed' });
      expect(answer.error).toMatch(error);
      expect(answer.error).toMatch(/^refused: /);
    }
    await r.agent.idle();
    expect(listTree(r.root)).toEqual(recordings);
    expect(listTree(r.config.exports_dir)).toEqual(exportsBefore);
    // A refused export holds nothing: the next purge may take what it would have held.
    r.clock.now += 6 * DAY;
    await r.agent.ownPurge();
    expect(listFiles(r.root)).toEqual([]);
  });

  it('never deletes or writes into a folder in exports it did not create', async () => {
    const r = await rig();
    const t = r.clock.now - DAY;
    writeSegment(r.root, frigatePath('door', t));
    const foreign = join(r.config.exports_dir, 'K-7_abcdef12');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'evidence.txt'), 'from the last police visit');
    const answer = await r.exportReq({
      case: 'K-7_abcdef12',
      ...secondEitherSide(t),
    });
    expect(answer).toMatchObject({ ok: false, state: 'failed' });
    expect(answer.error).toMatch(/exports\/K-7_abcdef12 already exists and was not created by this agent/);
    expect(listTree(r.config.exports_dir)).toEqual(['K-7_abcdef12/', 'K-7_abcdef12/evidence.txt']);
    expect(readFileSync(join(foreign, 'evidence.txt'), 'utf8')).toBe('from the last police visit');
  });

  it('restarts an interrupted attempt of its own (recorded in its state file)', async () => {
    const r = await rig();
    const t = r.clock.now - DAY;
    writeSegment(r.root, frigatePath('door', t), 'frame');
    await r.agent.stop();
    // As if the agent died mid-copy: the case is recorded as its own, with leftovers in both folders.
    mkdirSync(dirname(r.config.state_file), { recursive: true });
    writeFileSync(
      r.config.state_file,
      JSON.stringify({
        purgeHolds: null,
        exportHolds: [],
        createdCases: [{ case: 'K-8', id: 'e-own' }],
        answers: [],
      }),
    );
    mkdirSync(join(r.config.exports_dir, '.partial-K-8'), { recursive: true });
    writeFileSync(join(r.config.exports_dir, '.partial-K-8', 'half.mp4'), 'ha');
    mkdirSync(join(r.config.exports_dir, 'K-8'), { recursive: true });
    await r.restart();
    const done = await r.exportReq({
      id: 'e-own',
      case: 'K-8',
      ...secondEitherSide(t),
    });
    expect(done).toMatchObject({ ok: true, state: 'done', files: 1 });
    expect(listTree(r.config.exports_dir)).toEqual(
      [
        'K-8/',
        ...frigatePath('door', t)
          .split('/')
          .map((_, i, parts) => `K-8/${parts.slice(0, i + 1).join('/')}${i < 3 ? '/' : ''}`),
        'K-8/manifest.json',
      ].sort(),
    );
    const manifest = readFileSync(join(done.location!, 'manifest.json'));
    expect(createHash('sha256').update(manifest).digest('hex')).toBe(done.sha256);
  });

  it('finishes an export accepted before a restart even when its window has since passed retention', async () => {
    const r = await rig();
    const t = r.clock.now - 6 * DAY;
    writeSegment(r.root, frigatePath('door', t), 'frame');
    await r.agent.stop();
    const req = {
      id: 'e-late',
      case: 'K-9',
      ...secondEitherSide(t),
      cameras: [],
      ts: new Date(r.clock.now).toISOString(),
    };
    // Accepted (held) by the agent before it went down for three days.
    mkdirSync(dirname(r.config.state_file), { recursive: true });
    writeFileSync(
      r.config.state_file,
      JSON.stringify({
        purgeHolds: null,
        exportHolds: [
          { id: req.id, case: req.case, ts: req.ts, hold: { from: req.from, to: req.to, cameras: [] } },
        ],
        createdCases: [],
        answers: [],
      }),
    );
    r.clock.now += 3 * DAY;
    await r.restart();
    expect(listFiles(r.root)).toEqual([frigatePath('door', t)]); // held through the start-up purge
    expect(await r.exportReq(req)).toMatchObject({ ok: true, state: 'done', files: 1 });
    // Held once, not a second time for the same request.
    expect(heldIds(r)).toEqual(['e-late']);
  });
});

/** The export holds in the agent's state file, by request id. */
const heldIds = (r: Rig) =>
  (
    JSON.parse(readFileSync(r.config.state_file, 'utf8')) as { exportHolds: { id: string }[] }
  ).exportHolds.map((h) => h.id);

describe('export answers', () => {
  it('accepted after the hold is saved, then done; a repeat is answered from memory, not copied again', async () => {
    const r = await rig();
    const t = r.clock.now - DAY;
    writeSegment(r.root, frigatePath('door', t), 'frame');
    const heldWhenAccepted: string[][] = [];
    r.client.on('message', (topic, payload) => {
      if (topic.endsWith('/export/response') && bodyOf<ExportResponse>(payload).state === 'accepted')
        heldWhenAccepted.push(heldIds(r));
    });
    const req = {
      id: 'e-once',
      case: 'K-1',
      ...secondEitherSide(t),
    };
    const done = await r.exportReq(req);
    expect(done).toMatchObject({ id: 'e-once', ok: true, state: 'done', files: 1 });
    expect(r.exportAnswers[0]).toStrictEqual({ id: 'e-once', ok: true, state: 'accepted' });
    expect(heldWhenAccepted).toEqual([['e-once']]);
    expect(r.lines.filter((l) => l.msg === 'export answered')).toMatchObject([
      { id: 'e-once', state: 'done', files: 1 },
    ]);
    // The police took the folder away; the same request again gets the first answer, nothing is copied.
    rmSync(join(r.config.exports_dir, 'K-1'), { recursive: true });
    const topic = `${r.config.mqtt.base_topic}/export/request`;
    const body = { ...req, cameras: [], ts: new Date(r.clock.now).toISOString() };
    await r.client.publishAsync(topic, sealed(topic, body, TEST_KEY, new Date(r.clock.now)), { qos: 1 });
    await waitFor(() => r.exportAnswers.length === 3, 5000, 'the repeated answer');
    await r.agent.idle();
    expect(r.exportAnswers[2]).toStrictEqual(done);
    expect(existsSync(join(r.config.exports_dir, 'K-1'))).toBe(false);
  });

  it('a refusal says why and drops only its own hold; a failure keeps its hold and says what went wrong', async () => {
    const r = await rig();
    const t = r.clock.now - DAY;
    writeSegment(r.root, frigatePath('door', t), 'frame');
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(
      await r.exportReq({ id: 'e-ok', case: 'K-ok', from: iso(t - 1000), to: iso(t + 1000) }),
    ).toMatchObject({
      state: 'done',
    });
    // Another request's hold does not excuse a window from its checks.
    const wide = await r.exportReq({ id: 'e-wide', from: iso(t - 13 * HOUR), to: iso(t + 12 * HOUR) });
    const wideError = 'refused: the window is 25 h wide, more than max_window_hours (24 h)';
    expect(wide).toStrictEqual({ id: 'e-wide', ok: false, state: 'failed', error: wideError });
    expect(r.lines.filter((l) => l.msg === 'export request refused')).toMatchObject([
      { id: 'e-wide', error: wideError },
    ]);
    // Refused by the disk rules (a folder it did not create): its hold goes, e-ok's stays.
    mkdirSync(join(r.config.exports_dir, 'K-foreign'));
    const foreign = await r.exportReq({
      id: 'e-foreign',
      case: 'K-foreign',
      from: iso(t - 1000),
      to: iso(t + 1000),
    });
    const foreignError =
      'refused: exports/K-foreign already exists and was not created by this agent; it is left untouched';
    expect(foreign).toStrictEqual({ id: 'e-foreign', ok: false, state: 'failed', error: foreignError });
    expect(r.lines.filter((l) => l.msg === 'export request refused')[1]).toMatchObject({
      id: 'e-foreign',
      error: foreignError,
    });
    expect(heldIds(r)).toEqual(['e-ok']);
    // A failure, not a refusal (a manifest that cannot be read): the hold stays, the answer carries the error.
    mkdirSync(join(r.config.exports_dir, 'K-bad'));
    writeFileSync(join(r.config.exports_dir, 'K-bad', 'manifest.json'), 'not json');
    const parseError = (() => {
      try {
        JSON.parse('not json');
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    const bad = await r.exportReq({ id: 'e-bad', case: 'K-bad', from: iso(t - 1000), to: iso(t + 1000) });
    expect(bad).toStrictEqual({ id: 'e-bad', ok: false, state: 'failed', error: parseError });
    expect(r.lines.filter((l) => l.msg === 'export failed')).toMatchObject([
      { id: 'e-bad', err: parseError },
    ]);
    expect(heldIds(r)).toEqual(['e-ok', 'e-bad']);
  });

  it('an error longer than the answer allows is cut to its first 500 characters', async () => {
    const r = await rig();
    const t = r.clock.now - DAY;
    writeSegment(r.root, frigatePath('door', t), 'frame');
    // An exports path that is a file: the disk's error names the long path.
    const dir = join(dirname(r.config.exports_dir), 'x'.repeat(200), 'y'.repeat(200), 'z'.repeat(200));
    mkdirSync(dir, { recursive: true });
    r.config.exports_dir = join(dir, 'exports');
    writeFileSync(r.config.exports_dir, '');
    const iso = (ms: number) => new Date(ms).toISOString();
    const answer = await r.exportReq({ id: 'e-long', case: 'K-1', from: iso(t - 1000), to: iso(t + 1000) });
    const full = `EEXIST: file already exists, mkdir '${r.config.exports_dir}'`;
    expect(full.length).toBeGreaterThan(500);
    expect(answer).toStrictEqual({ id: 'e-long', ok: false, state: 'failed', error: full.slice(0, 500) });
  });

  it('the same request again while it is being copied is answered accepted, not copied twice', async () => {
    const r = await rig();
    const t = r.clock.now - DAY;
    writeSegment(r.root, frigatePath('door', t), 'frame');
    const req: ExportRequest = {
      id: 'e-twice',
      case: 'K-2',
      ...secondEitherSide(t),
      cameras: [],
      ts: new Date(r.clock.now).toISOString(),
    };
    // Both in the same turn, as the broker may deliver them: the first is certainly still copying.
    const agent = r.agent as unknown as { onExportRequest(payload: Buffer, correlation?: Buffer): void };
    agent.onExportRequest(Buffer.from(JSON.stringify(req)));
    agent.onExportRequest(Buffer.from(JSON.stringify(req)));
    await r.agent.idle();
    await waitFor(() => r.exportAnswers.length === 3, 5000, 'three answers');
    expect(r.exportAnswers.map((a) => a.state)).toEqual(['accepted', 'accepted', 'done']);
    expect(r.lines.filter((l) => l.msg === 'export answered')).toHaveLength(1);
  });
});

describe('holds', () => {
  it('export holds survive a newer purge request that does not list them', async () => {
    const r = await rig();
    const t = r.clock.now - 3 * DAY;
    writeSegment(r.root, frigatePath('door', t), mp4File({ durationMs: 600_000 }));
    writeSegment(r.root, frigatePath('door', t + 600_000), 'next');
    const done = await r.exportReq({
      // The window starts in the middle of the 600 s segment.
      from: new Date(t + 300_000).toISOString(),
      to: new Date(t + 360_000).toISOString(),
    });
    expect(done).toMatchObject({ state: 'done', files: 1 });
    r.clock.now += 1000;
    const answer = await r.purge({ before: new Date(r.clock.now - 2 * DAY).toISOString(), holds: [] });
    expect(answer).toMatchObject({ ok: true, deleted: 1, oldest: null });
    expect(listFiles(r.root)).toEqual([frigatePath('door', t)]);
    // Also after a restart (the state file), and in the agent's own purge.
    await r.restart();
    r.clock.now += 5 * DAY;
    const own = await r.agent.ownPurge();
    expect(own).toMatchObject({ deleted: 0, held: 1 });
    expect(listFiles(r.root)).toEqual([frigatePath('door', t)]);
  });

  it('lapse after hold_max_days from the request, for export holds and purge-request holds alike', async () => {
    const r = await rig({ hold_max_days: 30 });
    const t = r.clock.now - 2 * DAY;
    writeSegment(r.root, frigatePath('door', t));
    writeSegment(r.root, frigatePath('hall', t));
    await r.exportReq({
      ...secondEitherSide(t),
      cameras: ['door'],
    });
    const held = {
      ...secondEitherSide(t),
      cameras: ['hall'],
    };
    expect(await r.purge({ holds: [held] })).toMatchObject({ ok: true, deleted: 0 });
    r.clock.now += 30 * DAY - 60_000;
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 0, held: 2 });
    r.clock.now += 2 * 60_000;
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 2, held: 0 });
    expect(listFiles(r.root)).toEqual([]);
    expect(r.lines.some((l) => l.msg === 'export holds lapsed (hold_max_days)')).toBe(true);
  });

  it('a hold lives exactly hold_max_days: held at the instant it lapses, gone a second later', async () => {
    const r = await rig({ hold_max_days: 30 });
    const t = r.clock.now - 2 * DAY;
    writeSegment(r.root, frigatePath('door', t));
    await r.exportReq(secondEitherSide(t));
    const requested = r.clock.now;
    r.clock.now = requested + 30 * DAY;
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 0, held: 1 });
    r.clock.now = requested + 30 * DAY + 1000;
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 1, held: 0 });
  });

  it('an older purge request never replaces the newer hold list (the newest ts wins, whatever arrives last)', async () => {
    const r = await rig();
    const t = r.clock.now - 8 * DAY;
    writeSegment(r.root, frigatePath('hall', t));
    const held = {
      ...secondEitherSide(t),
      cameras: [],
    };
    const newer = new Date(r.clock.now).toISOString();
    expect(
      await r.purge({ ts: newer, before: new Date(r.clock.now - 9 * DAY).toISOString(), holds: [held] }),
    ).toMatchObject({ ok: true, deleted: 0 });
    // Sent earlier, delivered late: its list (no holds) is older than the one the agent has.
    const older = new Date(r.clock.now - 60_000).toISOString();
    expect(await r.purge({ ts: older, holds: [] })).toMatchObject({ ok: true, deleted: 0 });
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 0, held: 1 });
    expect(listFiles(r.root)).toEqual([frigatePath('hall', t)]);
  });

  it('own purge touches only the configured cameras (cameras: [] would be every camera)', async () => {
    const r = await rig({ cameras: ['door'] });
    const t = r.clock.now - 8 * DAY;
    writeSegment(r.root, frigatePath('door', t));
    writeSegment(r.root, frigatePath('garage', t));
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 1 });
    expect(listFiles(r.root)).toEqual([frigatePath('garage', t)]);
  });

  it('refuses a purge request with a hold wider than max_window_hours, or from the future: nothing deleted, nothing learned', async () => {
    const r = await rig();
    const old = r.clock.now - 9 * DAY;
    writeSegment(r.root, frigatePath('door', old));
    const before = listTree(r.root);
    const wide = await r.purge({
      holds: [{ from: new Date(0).toISOString(), to: new Date(r.clock.now).toISOString(), cameras: [] }],
    });
    expect(wide).toMatchObject({ ok: false, deleted: 0 });
    expect(wide.error).toMatch(/wider than max_window_hours \(24 h\)/);
    const soon = new Date(r.clock.now + 2 * 60_000).toISOString();
    const future = await r.purge({ ts: soon });
    expect(future).toMatchObject({ ok: false, deleted: 0 });
    expect(future.error).toMatch(/request time .* is in the future/);
    expect(listTree(r.root)).toEqual(before);
    // Neither the wide hold nor the year-9999 list was learned: a proper request purges.
    expect(await r.purge()).toMatchObject({ ok: true, deleted: 1 });
  });

  it('the 7-day boundary: 7 days minus a minute stays, 7 days plus a minute goes (own purge, injected clock)', async () => {
    const r = await rig();
    const younger = r.clock.now - 7 * DAY + 60_000;
    const older = r.clock.now - 7 * DAY - 60_000;
    writeSegment(r.root, frigatePath('door', younger), mp4File({ durationMs: 10_000 }));
    writeSegment(r.root, frigatePath('door', older), mp4File({ durationMs: 10_000 }));
    const result = await r.agent.ownPurge();
    expect(result).toMatchObject({ deleted: 1, oldest: younger });
    expect(listFiles(r.root)).toEqual([frigatePath('door', younger)]);
    expect(existsSync(join(r.root, frigatePath('door', older)))).toBe(false);
  });

  it('footage starting exactly at the cut-off stays: the purge takes what is older than 7 days', async () => {
    const r = await rig();
    const exactly = r.clock.now - 7 * DAY;
    writeSegment(r.root, frigatePath('door', exactly), mp4File({ durationMs: 10_000 }));
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 0 });
    expect(listFiles(r.root)).toEqual([frigatePath('door', exactly)]);
  });
});

describe('open cases: the newest purge list names them', () => {
  const staleOf = (s: NvrStatus | null | undefined) => s?.findings?.filter((f) => f.kind === 'stale_exports');
  const stateHolds = (r: Rig) =>
    (JSON.parse(readFileSync(r.config.state_file, 'utf8')) as { exportHolds: { case: string }[] }).exportHolds
      .map((h) => h.case)
      .sort();

  it('an export hold whose case the purge list names outlives hold_max_days; one it does not name lapses as before', async () => {
    const r = await rig({ hold_max_days: 10 });
    const t = r.clock.now - 2 * DAY;
    writeSegment(r.root, frigatePath('door', t));
    writeSegment(r.root, frigatePath('hall', t));
    const window = secondEitherSide(t);
    await r.exportReq({ ...window, case: 'K-open', cameras: ['door'] });
    await r.exportReq({ ...window, case: 'K-closed', cameras: ['hall'] });
    // The controller's list names K-open, on another camera: only the export hold itself keeps door.
    const listed = { ...window, cameras: ['garage'], case: 'K-open' };
    r.clock.now += 11 * DAY;
    expect(await r.purge({ holds: [listed] })).toMatchObject({ ok: true, deleted: 1 });
    expect(listFiles(r.root)).toEqual([frigatePath('door', t)]);
    expect(stateHolds(r)).toEqual(['K-open']);
    // Also in the agent's own purge and after a restart.
    await r.restart();
    r.clock.now += DAY;
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 0, held: 1 });
    // A newer list without it: the hold is past its lifetime, so it lapses now.
    r.clock.now += 1000;
    expect(await r.purge({ holds: [] })).toMatchObject({ ok: true, deleted: 1 });
    expect(listFiles(r.root)).toEqual([]);
    expect(stateHolds(r)).toEqual([]);
  });

  it('a purge list older than hold_max_days renews nothing: the export hold it names lapses', async () => {
    const r = await rig({ hold_max_days: 10 });
    const t = r.clock.now - 2 * DAY;
    writeSegment(r.root, frigatePath('door', t));
    const window = secondEitherSide(t);
    await r.exportReq({ ...window, case: 'K-old', cameras: ['door'] });
    r.clock.now += DAY;
    expect(await r.purge({ holds: [{ ...window, cameras: ['garage'], case: 'K-old' }] })).toMatchObject({
      ok: true,
    });
    // Twelve days on: the export hold is past its ten days and the list naming its case is eleven days old.
    r.clock.now += 11 * DAY;
    expect(await r.agent.ownPurge()).toMatchObject({ deleted: 1, held: 0 });
    expect(listFiles(r.root)).toEqual([]);
  });

  it('a purge list never removes an export hold early, whatever cases it names', async () => {
    const r = await rig({ hold_max_days: 10 });
    const t = r.clock.now - 2 * DAY;
    writeSegment(r.root, frigatePath('door', t));
    await r.exportReq(secondEitherSide(t));
    r.clock.now += 6 * DAY;
    const other = {
      from: new Date(t).toISOString(),
      to: new Date(t).toISOString(),
      cameras: [],
      case: 'K-x',
    };
    expect(await r.purge({ holds: [other] })).toMatchObject({ ok: true });
    expect(await r.purge({ holds: [] })).toMatchObject({ ok: true, deleted: 0 });
    expect(listFiles(r.root)).toEqual([frigatePath('door', t)]);
  });

  it('reports its own export folders of closed cases past retention, never deletes them, and leaves folders it did not create alone', async () => {
    const r = await rig({ hold_max_days: 10 }, (_root, dir) => {
      // Left by a person: no finding, never touched, listed as not judged.
      const foreign = join(dir, 'exports', 'K-foreign');
      mkdirSync(foreign, { recursive: true });
      writeFileSync(join(foreign, 'evidence.mp4'), 'from the last police visit');
      writeFileSync(
        join(foreign, 'manifest.json'),
        JSON.stringify({ case: 'K-foreign', created: new Date(Date.now() - 60 * DAY).toISOString() }),
      );
    });
    const t = r.clock.now - 2 * DAY;
    writeSegment(r.root, frigatePath('door', t));
    const window = secondEitherSide(t);
    for (const c of ['K-1', 'K-2', 'K-3'])
      expect(await r.exportReq({ ...window, case: c })).toMatchObject({ state: 'done' });
    const exportsBefore = listTree(r.config.exports_dir);
    const listed = (...cases: string[]) => cases.map((c) => ({ ...window, cameras: [], case: c }));

    // Within retention: nothing stale, whatever is open.
    r.clock.now += 6 * DAY;
    await r.purge({ holds: listed('K-1') });
    expect(staleOf(r.agent.status)).toEqual([]);
    expect(r.agent.status?.skipped).toContainEqual({
      path: 'exports/K-foreign',
      why: 'not created by this agent: never touched, not judged',
    });

    // Past retention; the export holds are alive (open) until hold_max_days.
    r.clock.now += 2 * DAY;
    await r.purge({ holds: listed('K-1') });
    expect(staleOf(r.agent.status)).toEqual([]);

    // Past hold_max_days: K-1 is still open (renewed, in the purge list), K-2 and K-3 are closed.
    r.clock.now += 3 * DAY;
    await r.purge({ holds: listed('K-1') });
    const created = new Date(r.clock.now - 11 * DAY).toISOString();
    expect(staleOf(r.agent.status)).toEqual([
      {
        kind: 'stale_exports',
        detail: 'exports/K-2 belongs to no open case: delete it after delivery (and 1 more: exports/K-3)',
        count: 2,
        oldest: created,
      },
    ]);
    // Reopened (the controller lists K-2 again): no longer stale.
    r.clock.now += 1000;
    await r.purge({ holds: listed('K-1', 'K-2', 'K-3') });
    expect(staleOf(r.agent.status)).toEqual([]);
    // Closed again, the retained status (what the controller reads) carries it.
    r.clock.now += 1000;
    await r.purge({ holds: listed('K-1') });
    await waitFor(
      () => staleOf(r.statuses.at(-1))?.[0]?.count === 2,
      5000,
      'retained status with the finding',
    );
    // The agent deleted none of it, and never touched the folder it did not create.
    expect(listTree(r.config.exports_dir)).toEqual(exportsBefore);
    expect(readFileSync(join(r.config.exports_dir, 'K-foreign', 'evidence.mp4'), 'utf8')).toBe(
      'from the last police visit',
    );
  });

  it('an unfinished copy of its own (no manifest) counts from the folder time', async () => {
    const r = await rig();
    await r.agent.stop();
    mkdirSync(dirname(r.config.state_file), { recursive: true });
    writeFileSync(
      r.config.state_file,
      JSON.stringify({
        purgeHolds: null,
        exportHolds: [],
        createdCases: [{ case: 'K-half', id: 'e-half' }],
        answers: [],
      }),
    );
    const half = join(r.config.exports_dir, '.partial-K-half');
    mkdirSync(half, { recursive: true });
    writeFileSync(join(half, 'a.mp4'), 'ha');
    const old = new Date(r.clock.now - 9 * DAY);
    utimesSync(half, old, old);
    await r.restart();
    expect(staleOf(r.agent.status)).toEqual([
      {
        kind: 'stale_exports',
        detail: 'exports/.partial-K-half belongs to no open case: delete it after delivery',
        count: 1,
        oldest: old.toISOString(),
      },
    ]);
  });
});

describe('a hold window names its case', () => {
  it('the purge request schema takes `case` as an export folder name, and nothing that could leave exports', () => {
    const hold = (c: unknown) => ({
      id: 'p-1',
      before: '2026-11-23T02:00:00.000Z',
      cameras: [],
      holds: [{ from: '2026-11-20T02:00:00.000Z', to: '2026-11-20T03:00:00.000Z', cameras: [], case: c }],
      ts: '2026-11-30T02:00:00.000Z',
    });
    const parse = (c: unknown) => parsePurgeRequest(Buffer.from(JSON.stringify(hold(c))));
    expect(parse('2026_4711_abcdef12')).toMatchObject({ ok: true });
    for (const bad of ['../etc', '.partial-x', 'a/b', '', 5, 'x'.repeat(97)])
      expect(parse(bad).ok).toBe(false);
    // Old controllers send no case: still accepted.
    const old = hold('x');
    old.holds = old.holds.map(({ from, to, cameras }) => ({ from, to, cameras, case: undefined }));
    expect(JSON.stringify(old)).not.toContain('"case"');
    expect(parsePurgeRequest(Buffer.from(JSON.stringify(old)))).toMatchObject({ ok: true });
  });
});
