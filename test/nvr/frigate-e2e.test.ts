/**
 * End to end over a real Mosquitto: the real controller and the real agent, the agent built from a checked
 * config with `recorder: {kind: frigate}` (so the schema and the registry pick the Frigate backend), against the
 * Frigate stand-in (real HTTP, SQLite shaped like frigate.db, real files). Both ends share one injected clock.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/nvr-agent/export.ts';
import type { NvrAgent } from '../../src/nvr-agent/agent.ts';
import { checkAgentConfig } from '../../src/nvr-agent/config.ts';
import { caseDirName } from '../../src/nvr/controller.ts';
import { FrigateStandin, type SegmentRow, type StandinVersion } from '../helpers/frigate-standin.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  captureLog,
  type ControllerRig,
  DAY,
  listFiles,
  makeController,
  mqttClient,
  startAgent,
  TEST_KEY,
  testNvrConfig,
  writeKey,
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

const CAMERAS = ['hall', '_back'];
const S = 1000;
/** Not aligned to a day or an hour, so listings cross midnight and hour folders mid-segment. */
const T_START = Date.UTC(2026, 10, 20, 9, 17, 23);

/**
 * Segments as Frigate cuts them on keyframes: whole-second starts, irregular lengths up to its 600 s maximum,
 * probed durations a few ms off the whole length (neighbours overlap or leave a hair of a gap).
 */
const LENGTHS = [600, 600, 173, 600, 10, 600, 421, 600, 37, 600, 4, 245];
const JITTER_MS = [13, -27, 41, 0, -8, 22, 35, -14, 6, 0, 19, -31];
function footage(fromMs: number, toMs: number, phase: number) {
  const out: { camera: string; startS: number; durationS: number }[] = [];
  CAMERAS.forEach((camera, c) => {
    let t = Math.floor(fromMs / S);
    for (let i = phase + c * 5; t < toMs / S; i++) {
      const len = LENGTHS[i % LENGTHS.length]!;
      out.push({ camera, startS: t, durationS: len + JITTER_MS[i % JITTER_MS.length]! / S });
      t += len;
    }
  });
  return out;
}

let seq = 0;
interface Rig {
  standin: FrigateStandin;
  agent: NvrAgent;
  ctl: ControllerRig & { mqtt: MqttClient };
  exportsDir: string;
  lines: ReturnType<typeof captureLog>['lines'];
}

async function rig(
  version: StandinVersion,
  retainDays: number,
  now: () => Date,
  seed: (s: FrigateStandin) => void,
  controllerOverrides: Parameters<typeof testNvrConfig>[0] = {},
): Promise<Rig> {
  const tmp = tempDir('nvr-frigate-e2e-');
  cleanups.push(() => tmp.cleanup());
  const standin = await FrigateStandin.start({
    version,
    root: join(tmp.path, 'frigate'),
    cameras: CAMERAS,
    retainDays,
  });
  cleanups.push(() => standin.close());
  seed(standin);
  const base = `nvr-e2e-${process.pid}-${++seq}`;

  // The agent's config as its YAML would give it: relative paths, defaults left to the schema.
  writeKey(tmp.path);
  const config = checkAgentConfig(
    {
      auth: { keys: [{ id: TEST_KEY.id, secret_file: 'nvr.key' }] },
      mqtt: { url: broker.url, base_topic: base, client_id: `agent-${base}` },
      recorder: { kind: 'frigate', url: standin.url },
      exports_dir: 'exports',
      state_file: 'state/agent.json',
      purge_cron: '0 0 1 1 *',
      log_level: 'debug',
    },
    tmp.path,
  );
  expect(config.recorder).toEqual({
    kind: 'frigate',
    url: standin.url,
    verify_tls: true,
    cameras: [],
    timeout_ms: 30_000,
    retries: 2,
  });
  const { log, lines } = captureLog();
  const agent = await startAgent(config, log, now);
  cleanups.push(() => agent.stop());
  await waitFor(() => lines.some((l) => l.msg === 'connected to broker'), 5000, 'agent connected');

  const mqtt = await mqttClient(broker.url);
  const ctl = makeController(
    join(tmp.path, 'dorvakt.sqlite'),
    mqtt,
    log,
    testNvrConfig({
      base_topic: base,
      // A purge over thousands of segments outlasts the fast test timeouts; silence would raise nvr_unreachable.
      answer_timeout_ms: 3000,
      max_tries: 5,
      backoff: { factor: 1.5, max_ms: 5000 },
      ...controllerOverrides,
    }),
    now,
  );
  ctl.controller.start();
  cleanups.push(async () => {
    await ctl.close();
    await mqtt.endAsync();
  });
  await waitFor(() => mqtt.connected, 2000, 'controller connected');
  // The agent's retained status from its start-up purge.
  await waitFor(() => ctl.controller.health().recorder, 5000, 'status at the controller');
  return { standin, agent, ctl: { ...ctl, mqtt }, exportsDir: config.exports_dir, lines };
}

const answered = (r: Rig, id: string) =>
  (
    r.ctl.db.prepare('SELECT answered_at FROM nvr_outbox WHERE id = ?').get(id) as {
      answered_at: number | null;
    }
  ).answered_at !== null;

const purgeRecord = (r: Rig) => {
  const row = r.ctl.db.prepare("SELECT value FROM nvr_state WHERE key = 'purge'").get() as
    | { value: string }
    | undefined;
  return row
    ? (JSON.parse(row.value) as { requestId: string; breach: string | null; deleted: number })
    : null;
};

/** Every alarm of a code ever raised (cleared ones too). */
const raised = (r: Rig, code: string) =>
  r.ctl.db.prepare('SELECT detail FROM alarms WHERE code = ?').all(code) as { detail: string | null }[];

/** Inclusive overlap, in ms, as the contract's holds and Frigate's ranges are. */
const overlaps = (row: SegmentRow, from: number, to: number) =>
  row.start_time * S <= to && row.end_time * S >= from;

const deletes = (s: FrigateStandin) => s.requests.filter((q) => q.startsWith('DELETE '));

describe('controller → Mosquitto → agent → Frigate 0.18 (API purge)', () => {
  it('purges through the DELETE route, keeps a held window whole, exports bit-exact, reports the recorder', async () => {
    let clock = T_START;
    const now = () => new Date(clock);
    // Seven days of footage up to now: the agent's own purge at start finds nothing to delete.
    const r = await rig(
      '0.18.0',
      // Frigate's own retention (with its 60 min expire interval) inside the site's 7 days: no config finding.
      6,
      now,
      (s) => s.addSegments(footage(T_START - 7 * DAY + 5 * S, T_START, 0), 128),
      // The jump of the clock below ages the start-up status by two days before the purge answers; this
      // test checks the purge's verified answer, so that stale status must not count on its own.
      { status_grace_minutes: 3 * 24 * 60 },
    );
    const { standin, ctl } = r;
    expect(deletes(standin)).toEqual([]);

    // (d) The status the controller got names the recorder.
    expect(ctl.controller.health().recorder).toMatchObject({
      kind: 'frigate',
      version: '0.18.0-9c0e5f1',
      purges: true,
    });
    expect(ctl.controller.health().recorder?.note).toMatch(/deletes through Frigate's API/);

    // A police export 6 d 22 h back, starting 250 s into a 600 s segment of `_back`.
    const target = T_START - 6 * DAY - 22 * 3_600_000;
    const long = standin.rows('_back').find((row) => row.start_time * S >= target && row.duration >= 600)!;
    const from = long.start_time * S + 250 * S;
    const to = from + 3_600_000;
    const opened = ctl.controller.openExport({
      caseNumber: '2026/4711',
      authority: 'Politiet Oslo',
      reason: 'theft at the back door',
      actor: 'admin',
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      cameras: [],
    });
    const exported = await waitFor(
      () => {
        const e = ctl.controller.getExport(opened.id);
        return e.state === 'exported' ? e : undefined;
      },
      10_000,
      'export done',
    );

    // (b) The case folder's manifest lists every overlapping segment of both cameras, bit-exact.
    const window = standin.rows().filter((row) => overlaps(row, from, to));
    expect(window.some((row) => row.id === long.id)).toBe(true);
    expect(new Set(window.map((row) => row.camera))).toEqual(new Set(CAMERAS));
    const original = window
      .map((row) => ({ path: relative(standin.recordingsDir, row.path), sha256: standin.fileSha256(row) }))
      .sort((a, b) => a.path.localeCompare(b.path));
    const caseDir = join(r.exportsDir, caseDirName('2026/4711', opened.id));
    expect(exported.location).toBe(caseDir);
    const manifestBytes = readFileSync(join(caseDir, 'manifest.json'));
    expect(createHash('sha256').update(manifestBytes).digest('hex')).toBe(exported.sha256);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
    expect(manifest.files.map((f) => ({ path: f.path, sha256: f.sha256 }))).toEqual(original);
    for (const f of manifest.files) {
      expect(
        createHash('sha256')
          .update(readFileSync(join(caseDir, f.path)))
          .digest('hex'),
      ).toBe(f.sha256);
    }
    expect(exported.files).toBe(window.length);

    // Two days pass; Frigate keeps recording. Nothing is sent while the clock jumps (answers are all in).
    await new Promise((res) => setTimeout(res, 200));
    clock = T_START + 2 * DAY;
    standin.addSegments(footage(T_START, clock, 3), 128);
    standin.requests.length = 0;
    const cutoff = clock - 7 * DAY;
    const before = standin.rows();
    expect(before.filter((row) => row.start_time * S < cutoff).length).toBeGreaterThan(500);
    const heldBefore = before.filter((row) => overlaps(row, from, to));

    // (a) The controller's scheduled purge.
    const id = ctl.controller.purgeNow();
    await waitFor(() => answered(r, id), 20_000, 'purge answered');
    const after = standin.rows();

    const calls = deletes(standin);
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) {
      expect(c).toMatch(
        /^DELETE \/api\/recordings\/start\/\d+(\.\d+)?\/end\/\d+(\.\d+)?\?cameras=(hall|_back)$/,
      );
    }
    // Nothing older than 7 days is left but what the hold overlaps: the 600 s segment cut by the hold's start too.
    const old = after.filter((row) => row.start_time * S < cutoff);
    expect(old.map((row) => row.id).sort()).toEqual(heldBefore.map((row) => row.id).sort());
    expect(old.some((row) => row.id === long.id)).toBe(true);
    // Newer footage is untouched.
    expect(after.length).toBe(old.length + before.filter((row) => row.start_time * S >= cutoff).length);
    // Disk and database agree: the files of deleted rows are gone, every remaining row has its file.
    const gone = before.filter((row) => !after.some((a) => a.id === row.id));
    expect(gone.length).toBeGreaterThan(500);
    expect(gone.every((row) => !existsSync(row.path))).toBe(true);
    expect(listFiles(standin.recordingsDir).sort()).toEqual(
      after.map((row) => relative(standin.recordingsDir, row.path)).sort(),
    );
    // The held files are still the originals.
    for (const row of heldBefore)
      expect(standin.fileSha256(row)).toBe(
        original.find((o) => o.path === relative(standin.recordingsDir, row.path))!.sha256,
      );

    // The controller recorded the verified answer: no breach, nothing unreachable, no forgery.
    const record = purgeRecord(r);
    expect(record).toMatchObject({ requestId: id, breach: null, deleted: gone.length });
    const health = ctl.controller.health();
    expect(health.lastPurgeDeleted).toBe(gone.length);
    expect(Date.parse(health.oldest!)).toBeGreaterThanOrEqual(cutoff);
    await waitFor(
      () => ctl.controller.health().statusAt === new Date(clock).toISOString(),
      5000,
      'status after the purge',
    );
    expect(ctl.controller.health().findings).toEqual([]);
    expect(raised(r, 'retention_breach')).toEqual([]);
    expect(raised(r, 'nvr_forgery')).toEqual([]);
    expect(ctl.alarms.list()).toEqual([]);
    expect(ctl.controller.getExport(opened.id).state).toBe('exported');

    // The agent's own scheduled purge (the controller away) keeps the export's hold as well.
    standin.requests.length = 0;
    const own = await r.agent.ownPurge();
    expect(own).toMatchObject({ deleted: 0, errors: 0, held: heldBefore.length });
    expect(deletes(standin)).toEqual([]);
    expect(standin.rows()).toEqual(after);
  });
});

describe('controller → Mosquitto → agent → Frigate 0.16 (report only)', () => {
  it("deletes nothing, says so in its status, and Frigate's 10-day retention raises retention_breach", async () => {
    const clock = T_START;
    const now = () => new Date(clock);
    const r = await rig('0.16.2', 10, now, (s) => {
      s.addSegments(footage(clock - 12 * DAY, clock, 0), 64);
      // Frigate's own cleanup: everything that ended more than 10 days ago.
      expect(s.runRetention(clock / S)).toBeGreaterThan(0);
    });
    const { standin, ctl } = r;
    const before = standin.rows();
    const files = listFiles(standin.recordingsDir);
    const oldest = Math.min(...before.map((row) => row.start_time * S));
    expect(oldest).toBeLessThan(clock - 9 * DAY);

    const id = ctl.controller.purgeNow();
    await waitFor(() => answered(r, id), 20_000, 'purge answered');

    // Nothing deleted: no DELETE route on 0.16, and the agent never touches Frigate's files.
    expect(deletes(standin)).toEqual([]);
    expect(standin.rows()).toEqual(before);
    expect(listFiles(standin.recordingsDir)).toEqual(files);
    expect(ctl.controller.health().lastPurgeDeleted).toBe(0);

    // The status says the agent only reports, and why.
    const recorder = ctl.controller.health().recorder;
    expect(recorder).toMatchObject({ kind: 'frigate', version: '0.16.2-4d58206', purges: false });
    expect(recorder?.note).toMatch(/Frigate's own retention deletes .* only lists and reports/);
    expect(r.agent.status?.recorder).toEqual(recorder);

    // The footage Frigate keeps past 7 days is a breach of kind `recordings`, from the verified answer.
    const record = purgeRecord(r);
    expect(record?.requestId).toBe(id);
    expect(record?.breach).toMatch(/^footage from \S+ is left after a purge before/);
    expect(ctl.alarms.isActive('retention_breach')).toBe(true);
    const detail = ctl.alarms.list().find((a) => a.code === 'retention_breach')?.detail ?? '';
    expect(detail).toMatch(/(^|; )recordings: /);
    // Frigate's 10 days in its own config is reported beside it.
    const findings = ctl.controller.health().findings;
    expect(findings.filter((f) => f.kind === 'recordings').map((f) => f.camera)).toEqual(
      expect.arrayContaining(CAMERAS),
    );
    expect(findings.map((f) => f.kind)).toContain('config_continuous');
    expect(Date.parse(ctl.controller.health().oldest!)).toBe(Math.floor(oldest));
  });
});
