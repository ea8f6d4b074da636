import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRequest, ExportResponse, PurgeRequest, PurgeResponse } from '../../src/contract/nvr.ts';
import { createLogger } from '../../src/log/logger.ts';
import { NvrAgent } from '../../src/nvr-agent/agent.ts';
import type { AgentConfig } from '../../src/nvr-agent/config.ts';
import type { PurgePlan, Recorder, RecorderPurgeResult } from '../../src/nvr-agent/recorder.ts';
import { createFilesRecorder } from '../../src/nvr-agent/recorders/files.ts';
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
  mqttClient,
  sealed,
  TEST_KEY,
  writeSegment,
} from './helpers.ts';

const HOUR = 3_600_000;
const SKEW = 60_000;
// Whole seconds, as Frigate's paths name them.
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function tmp(prefix: string): string {
  const d = tempDir(prefix);
  cleanups.push(() => d.cleanup());
  return d.path;
}

/**
 * Whether this machine lets us make a file immutable (root with CAP_LINUX_IMMUTABLE on a file system with the
 * flag; a container may drop the capability). Where it does not, the one test that needs it is skipped, named.
 */
function immutableWorks(): boolean {
  const probe = tempDir('dorvakt-chattr-');
  try {
    const file = join(probe.path, 'probe');
    writeFileSync(file, '');
    execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    probe.cleanup();
  }
}
const CAN_MAKE_IMMUTABLE = immutableWorks();

/** Makes a file undeletable even for root (a real EPERM from unlink); undone before the directory is removed. */
function immutable(abs: string): void {
  execFileSync('chattr', ['+i', abs]);
  cleanups.push(() => void execFileSync('chattr', ['-i', abs]));
}

// ------------------------------------------------------------------ the files recorder, called directly

describe('FilesRecorder.purge deletes in batches and verifies by listing again', () => {
  const silent = createLogger('silent');
  const files = (root: string, log = silent) =>
    createFilesRecorder({ kind: 'files', root, layout: 'frigate' }, log, { now: () => NOW });
  const before = NOW - 7 * DAY;

  it('counts each of more than one batch of segments once', async () => {
    const root = tmp('purge-batch-');
    // One more than a batch of unlinks.
    for (let i = 0; i < 65; i++) writeSegment(root, frigatePath('door', before - DAY + i * 1000));
    writeSegment(root, frigatePath('door', before + HOUR));
    const result = await files(root).purge({ before, cameras: null, holds: [] });
    expect(result.deleted).toBe(65);
    expect(result.errors).toBe(0);
    expect(listFiles(root)).toEqual([frigatePath('door', before + HOUR)]);
  });

  it.skipIf(!CAN_MAKE_IMMUTABLE)(
    'a segment that cannot be deleted (chattr +i) is logged, not counted as deleted, and is an error and the oldest footage',
    async () => {
      const root = tmp('purge-eperm-');
      const stuck = frigatePath('door', before - DAY);
      const gone = frigatePath('door', before - DAY + 60_000);
      const kept = frigatePath('door', before + HOUR);
      for (const rel of [stuck, gone, kept]) writeSegment(root, rel);
      immutable(join(root, stuck));
      const { log, lines } = captureLog();
      const result = await files(root, log).purge({ before, cameras: null, holds: [] });
      expect(result.deleted).toBe(1);
      expect(result.errors).toBe(1);
      // The leftover is older than what was kept on purpose: it is the oldest footage.
      expect(result.oldest).toBe(before - DAY);
      expect(result.cameras).toEqual([{ name: 'door', oldest: before - DAY, files: 2 }]);
      const failed = lines.filter((l) => l.msg === 'could not delete');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ path: stuck });
      expect(String((failed[0] as { err?: unknown }).err)).toMatch(/EPERM|not permitted/);
    },
  );

  it('a segment removed by someone else between listing and deleting counts as deleted, not as a failure', async () => {
    const root = tmp('purge-race-');
    const raced = frigatePath('door', before - DAY);
    writeSegment(root, raced);
    writeSegment(root, frigatePath('door', before - DAY + 60_000));
    const { log, lines } = captureLog();
    const rec = files(root, log);
    // The race, made certain: the recorder's own cleanup removes a segment right after the first listing.
    const inner = rec as unknown as { list(): Promise<unknown> };
    const list = inner.list.bind(rec);
    let calls = 0;
    inner.list = async () => {
      const listing = await list();
      if (++calls === 1) rmSync(join(root, raced));
      return listing;
    };
    const result = await rec.purge({ before, cameras: null, holds: [] });
    expect(result).toMatchObject({ deleted: 2, errors: 0, oldest: null });
    expect(lines.filter((l) => l.msg === 'could not delete')).toEqual([]);
  });

  it('a segment starting exactly at the cut-off is neither deleted nor an error', async () => {
    const root = tmp('purge-edge-');
    writeSegment(root, frigatePath('door', before - 1000));
    writeSegment(root, frigatePath('door', before));
    const result = await files(root).purge({ before, cameras: null, holds: [] });
    expect(result).toMatchObject({ deleted: 1, errors: 0, oldest: before });
    expect(listFiles(root)).toEqual([frigatePath('door', before)]);
  });

  it('a camera whose footage is all gone is reported with no files', async () => {
    const root = tmp('purge-gone-');
    writeSegment(root, frigatePath('door', before - DAY));
    writeSegment(root, frigatePath('hall', before - DAY));
    writeSegment(root, frigatePath('hall', before + HOUR));
    const result = await files(root).purge({ before, cameras: null, holds: [] });
    expect(result.cameras).toEqual([
      { name: 'door', oldest: null, files: 0 },
      { name: 'hall', oldest: before + HOUR, files: 1 },
    ]);
    expect(result.oldest).toBe(before + HOUR);
  });

  it('a skipped place newer than the footage left does not make the footage look newer', async () => {
    const root = tmp('purge-skip-');
    const outside = tmp('purge-outside-');
    writeSegment(outside, 'victim.mp4', 'not ours');
    writeSegment(root, frigatePath('door', before + HOUR));
    const linkRel = frigatePath('door', before + 2 * HOUR);
    mkdirSync(join(root, linkRel, '..'), { recursive: true });
    symlinkSync(join(outside, 'victim.mp4'), join(root, linkRel));
    const result = await files(root).purge({ before, cameras: null, holds: [] });
    expect(result.skipped.map((s) => s.path)).toEqual([linkRel]);
    expect(result.oldest).toBe(before + HOUR);
  });
});

// ------------------------------------------------------------------ the agent, over a real broker

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());

let seq = 0;
const armed = { on: false };
afterEach(() => {
  armed.on = false;
});

/**
 * A recorder whose purge answers what the test scripts once armed (the agent's own purge at start gets an
 * empty result); everything else is a real files recorder.
 */
function scripted(root: string, purge: (plan: PurgePlan) => Promise<RecorderPurgeResult>) {
  const real = createFilesRecorder({ kind: 'files', root, layout: 'frigate' }, createLogger('silent'), {
    now: () => NOW,
  });
  const plans: PurgePlan[] = [];
  const recorder: Recorder = {
    start: () => real.start(),
    describe: () => real.describe(),
    purge: (plan) => {
      if (!armed.on) return Promise.resolve(result({ deleted: 0, oldest: null, cameras: [] }));
      plans.push(plan);
      return purge(plan);
    },
    segments: (from, to, cameras) => real.segments(from, to, cameras),
    copySegment: (segment, target) => real.copySegment(segment, target),
    configFindings: (retentionDays) => real.configFindings(retentionDays),
    stop: () => real.stop(),
  };
  return { recorder, plans };
}

const result = (over: Partial<RecorderPurgeResult> = {}): RecorderPurgeResult => ({
  deleted: 3,
  held: 0,
  oldest: NOW - 6 * DAY,
  cameras: [{ name: 'door', oldest: NOW - 6 * DAY, files: 4 }],
  skipped: [],
  errors: 0,
  calls: 0,
  ...over,
});

interface Rig {
  root: string;
  lines: ReturnType<typeof captureLog>['lines'];
  client: MqttClient;
  purgeAnswers: PurgeResponse[];
  exportAnswers: ExportResponse[];
  send(req: PurgeRequest): Promise<void>;
  purge(over?: Partial<PurgeRequest>): Promise<PurgeResponse>;
  exportReq(over?: Partial<ExportRequest>): Promise<ExportResponse>;
}

async function rig(makeRecorder?: (root: string) => Recorder): Promise<Rig> {
  const dir = tmp('purge-agent-');
  const base = `purgereq${process.pid}-${++seq}`;
  const config: AgentConfig = agentConfig(dir, broker.url, { max_window_hours: 24, min_keep_hours: 1 });
  config.mqtt.base_topic = base;
  const root = filesRoot(config);
  const { log, lines } = captureLog();
  const client = await mqttClient(broker.url);
  cleanups.push(() => client.endAsync());
  const purgeAnswers: PurgeResponse[] = [];
  const exportAnswers: ExportResponse[] = [];
  client.on('message', (topic, payload) => {
    if (payload.length === 0) return;
    if (topic === `${base}/purge/response`) purgeAnswers.push(bodyOf<PurgeResponse>(payload));
    else if (topic === `${base}/export/response`) exportAnswers.push(bodyOf<ExportResponse>(payload));
  });
  await client.subscribeAsync([`${base}/purge/response`, `${base}/export/response`], { qos: 1 });
  cleanups.push(() => client.publishAsync(`${base}/status`, '', { qos: 1, retain: true }));
  const agent = new NvrAgent({
    config,
    log,
    now: () => new Date(NOW),
    mqttOptions: { reconnectPeriod: 100 },
    ...(makeRecorder ? { recorder: makeRecorder(root) } : {}),
  });
  await agent.start();
  cleanups.push(() => agent.stop());
  await agent.idle();
  const purgeTopic = `${base}/purge/request`;
  const send = async (req: PurgeRequest) => {
    await client.publishAsync(purgeTopic, sealed(purgeTopic, req, TEST_KEY, new Date(NOW)), { qos: 1 });
  };
  // The agent subscribes after connecting: probe with refused requests until one is answered.
  await waitFor(
    async () => {
      await send(purgeRequest({ id: `probe-${++seq}`, ts: iso(NOW + SKEW + 1) }));
      return purgeAnswers.some((a) => a.id.startsWith('probe-'));
    },
    5000,
    'agent subscribed',
  );
  armed.on = true;
  return {
    root,
    lines,
    client,
    purgeAnswers,
    exportAnswers,
    send,
    async purge(over = {}) {
      const req = purgeRequest(over);
      await send(req);
      return waitFor(() => purgeAnswers.find((a) => a.id === req.id), 5000, `purge answer ${req.id}`);
    },
    async exportReq(over = {}) {
      const req: ExportRequest = {
        id: `e-${++seq}`,
        case: `case-${seq}`,
        from: iso(NOW - 2 * DAY),
        to: iso(NOW - 2 * DAY + HOUR),
        cameras: [],
        ts: iso(NOW),
        ...over,
      };
      const topic = `${base}/export/request`;
      await client.publishAsync(topic, sealed(topic, req, TEST_KEY, new Date(NOW)), { qos: 1 });
      return waitFor(
        () => exportAnswers.find((a) => a.id === req.id && a.state !== 'accepted'),
        5000,
        `export answer ${req.id}`,
      );
    },
  };
}

const purgeRequest = (over: Partial<PurgeRequest> = {}): PurgeRequest => ({
  id: `p-${++seq}`,
  before: iso(NOW - 7 * DAY),
  cameras: [],
  holds: [],
  ts: iso(NOW),
  ...over,
});

const refusedLog = (r: Rig, id: string) =>
  r.lines.find((l) => l.msg === 'purge request refused' && l.id === id);

describe('the agent refuses a purge request only past each limit, to the millisecond', () => {
  it('a request time exactly the clock skew ahead is accepted; one millisecond more is refused', async () => {
    const r = await rig();
    expect(await r.purge({ ts: iso(NOW + SKEW) })).toMatchObject({ ok: true, deleted: 0 });
    const late = await r.purge({ ts: iso(NOW + SKEW + 1) });
    expect(late).toEqual({
      id: late.id,
      ok: false,
      deleted: 0,
      oldest: null,
      error: `refused: request time ${iso(NOW + SKEW + 1)} is in the future`,
    });
    // The refusal is logged with the request and its reason.
    expect(refusedLog(r, late.id)).toMatchObject({ id: late.id, error: late.error });
  });

  it('a hold exactly max_window_hours wide is accepted; one millisecond wider is refused', async () => {
    const r = await rig();
    const from = NOW - 3 * DAY;
    const exact = await r.purge({ holds: [{ from: iso(from), to: iso(from + 24 * HOUR), cameras: [] }] });
    expect(exact).toMatchObject({ ok: true });
    const wide = await r.purge({ holds: [{ from: iso(from), to: iso(from + 24 * HOUR + 1), cameras: [] }] });
    expect(wide).toMatchObject({
      ok: false,
      error: `refused: hold ${iso(from)} – ${iso(from + 24 * HOUR + 1)} is wider than max_window_hours (24 h)`,
    });
  });

  it('a cut-off exactly min_keep_hours ago is accepted; one millisecond later is refused', async () => {
    const r = await rig();
    expect(await r.purge({ before: iso(NOW - HOUR) })).toMatchObject({ ok: true });
    const late = await r.purge({ before: iso(NOW - HOUR + 1) });
    expect(late).toMatchObject({
      ok: false,
      deleted: 0,
      error: `refused: before ${iso(NOW - HOUR + 1)} would delete footage newer than 1 h`,
    });
  });
});

describe('the agent passes the request to the recorder and answers what it did', () => {
  it('purges only the cameras the request names', async () => {
    const r = await rig();
    for (const cam of ['door', 'hall']) writeSegment(r.root, frigatePath(cam, NOW - 9 * DAY));
    expect(await r.purge({ cameras: ['door'] })).toMatchObject({ ok: true, deleted: 1 });
    expect(listFiles(r.root)).toEqual([frigatePath('hall', NOW - 9 * DAY)]);
  });

  it('answers ok without an error when nothing failed, and not ok with the count when segments are left', async () => {
    const outcomes = [result(), result({ errors: 2 })];
    const r = await rig((root) => scripted(root, async () => outcomes.shift()!).recorder);
    const clean = await r.purge();
    expect(clean).toEqual({ id: clean.id, ok: true, deleted: 3, oldest: iso(NOW - 6 * DAY) });
    const failed = await r.purge();
    expect(failed).toEqual({
      id: failed.id,
      ok: false,
      deleted: 3,
      oldest: iso(NOW - 6 * DAY),
      error: '2 segments could not be deleted',
    });
  });

  it('a recorder that throws is answered with its message cut to 500 characters, and logged', async () => {
    const message = `disk gone ${'x'.repeat(600)}`;
    const r = await rig(
      (root) =>
        scripted(root, async () => {
          throw new Error(message);
        }).recorder,
    );
    const answer = await r.purge();
    expect(answer).toEqual({
      id: answer.id,
      ok: false,
      deleted: 0,
      oldest: null,
      error: message.slice(0, 500),
    });
    expect(r.lines.find((l) => l.msg === 'purge failed')).toMatchObject({ err: message });
  });

  it('places skipped are logged; with footage found its oldest stands, with none it counts as the epoch', async () => {
    const skipped = [{ path: 'odd/place', why: 'not a segment' }];
    const outcomes = [result(), result({ skipped }), result({ skipped, oldest: null, cameras: [] })];
    const r = await rig((root) => scripted(root, async () => outcomes.shift()!).recorder);
    await r.purge();
    expect(r.lines.some((l) => l.msg === 'places skipped')).toBe(false);
    expect(await r.purge()).toMatchObject({ ok: true, oldest: iso(NOW - 6 * DAY) });
    expect(r.lines.filter((l) => l.msg === 'places skipped')).toEqual([expect.objectContaining({ skipped })]);
    expect(await r.purge()).toMatchObject({ ok: true, oldest: iso(0) });
  });

  it('a request repeated while its purge runs starts no second purge and gets one answer', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const s = { plans: [] as PurgePlan[] };
    const r = await rig((root) => {
      const made = scripted(root, async () => {
        await gate;
        return result();
      });
      s.plans = made.plans;
      return made.recorder;
    });
    const req = purgeRequest();
    await r.send(req);
    await waitFor(() => s.plans.length === 1, 5000, 'first purge running');
    await r.send(req);
    // Requests are handled in order: once a later one is answered, the repeat has been handled too.
    const later = purgeRequest();
    await r.send(later);
    release();
    await waitFor(() => r.purgeAnswers.find((a) => a.id === later.id), 5000, 'later answer');
    expect(s.plans).toHaveLength(2);
    expect(r.purgeAnswers.filter((a) => a.id === req.id)).toHaveLength(1);
  });

  it('a request repeated after its answer is answered the same, without purging again', async () => {
    const r = await rig();
    writeSegment(r.root, frigatePath('door', NOW - 9 * DAY));
    const req = purgeRequest();
    await r.send(req);
    const first = await waitFor(() => r.purgeAnswers.find((a) => a.id === req.id), 5000, 'first answer');
    expect(first).toMatchObject({ ok: true, deleted: 1 });
    // Footage that turns up later is not what this request's answer is about.
    writeSegment(r.root, frigatePath('door', NOW - 8 * DAY));
    await r.send(req);
    await waitFor(() => r.purgeAnswers.filter((a) => a.id === req.id).length === 2, 5000, 'second answer');
    expect(r.purgeAnswers.filter((a) => a.id === req.id)[1]).toEqual(first);
    expect(listFiles(r.root)).toEqual([frigatePath('door', NOW - 8 * DAY)]);
  });
});

describe('the agent refuses an export window only past each limit, to the millisecond', () => {
  const refusal = (a: ExportResponse) => (a as { error?: string }).error ?? '';

  it('a request time exactly the clock skew ahead is accepted; one millisecond more is refused', async () => {
    const r = await rig();
    expect(refusal(await r.exportReq({ ts: iso(NOW + SKEW) }))).not.toMatch(/^refused: request time/);
    expect(refusal(await r.exportReq({ ts: iso(NOW + SKEW + 1) }))).toBe(
      `refused: request time ${iso(NOW + SKEW + 1)} is in the future`,
    );
  });

  it('a window ending exactly the clock skew ahead is accepted; one millisecond more is refused', async () => {
    const r = await rig();
    const ok = await r.exportReq({ from: iso(NOW - HOUR), to: iso(NOW + SKEW) });
    expect(refusal(ok)).not.toMatch(/^refused/);
    const late = await r.exportReq({ from: iso(NOW - HOUR), to: iso(NOW + SKEW + 1) });
    expect(refusal(late)).toBe(`refused: the window ends in the future (${iso(NOW + SKEW + 1)})`);
  });

  it('a window starting exactly the clock skew before retention is accepted; one millisecond earlier is refused', async () => {
    const r = await rig();
    const oldest = NOW - 7 * DAY;
    const ok = await r.exportReq({ from: iso(oldest - SKEW), to: iso(oldest - SKEW + HOUR) });
    expect(refusal(ok)).not.toMatch(/^refused/);
    const early = await r.exportReq({ from: iso(oldest - SKEW - 1), to: iso(oldest - SKEW + HOUR) });
    expect(refusal(early)).toMatch(/^refused: the window starts .*, before the retention period/);
  });

  it('a window exactly max_window_hours wide is accepted; one millisecond wider is refused', async () => {
    const r = await rig();
    const from = NOW - 3 * DAY;
    expect(refusal(await r.exportReq({ from: iso(from), to: iso(from + 24 * HOUR) }))).not.toMatch(
      /^refused/,
    );
    expect(refusal(await r.exportReq({ from: iso(from), to: iso(from + 24 * HOUR + 1) }))).toBe(
      'refused: the window is 24 h wide, more than max_window_hours (24 h)',
    );
  });
});
