/** The `frigate` recorder against a stand-in that follows Frigate's own code (test/helpers/frigate-standin.ts). */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { type Hold, overlapsHold } from '../../src/nvr-agent/recorder.ts';
import {
  createFrigateRecorder,
  type FrigateRecorderOptions,
  frigateMode,
  type Listed,
  MAX_SEGMENTS_PER_DELETE,
  parseFrigateVersion,
  planDeletes,
} from '../../src/nvr-agent/recorders/frigate.ts';
import { FrigateStandin, type SegmentRow, type StandinOptions } from '../helpers/frigate-standin.ts';
import { tempDir } from '../helpers/tmp.ts';

const log = createLogger('silent');
const DAY_S = 86_400;
/** A fixed UTC midnight, far enough back that all footage is past a 7-day retention. */
const T0 = Date.UTC(2026, 10, 1) / 1000;

const options = (url: string, extra: Partial<FrigateRecorderOptions> = {}): FrigateRecorderOptions => ({
  kind: 'frigate',
  url,
  verify_tls: true,
  cameras: [],
  timeout_ms: 5000,
  retries: 1,
  ...extra,
});

async function withStandin<T>(
  opts: Omit<StandinOptions, 'root'>,
  fn: (s: FrigateStandin, dir: string) => Promise<T>,
) {
  const tmp = tempDir('frigate-standin-');
  const s = await FrigateStandin.start({ ...opts, root: tmp.path });
  try {
    return await fn(s, tmp.path);
  } finally {
    await s.close();
    tmp.cleanup();
  }
}

/**
 * Segments as Frigate cuts them on keyframes: whole-second starts (the cache file's name), a probed duration a few
 * tens of ms off the whole length (so neighbours overlap or leave a hair of a gap), lengths given.
 */
function seed(
  s: FrigateStandin,
  camera: string,
  fromS: number,
  lengths: number[],
  jitterMs: number[] = [],
): SegmentRow[] {
  const rows: SegmentRow[] = [];
  let t = fromS;
  lengths.forEach((len, i) => {
    rows.push(s.addSegment(camera, t, len + (jitterMs[i] ?? 0) / 1000, 64 + (i % 7) * 13));
    t += len;
  });
  return rows;
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
const deletes = (s: FrigateStandin) => s.requests.filter((r) => r.startsWith('DELETE '));

describe('versions', () => {
  it('parses the version strings Frigate answers and picks the mode', () => {
    expect(parseFrigateVersion('0.16.2-4d58206')).toMatchObject({ major: 0, minor: 16, patch: 2 });
    expect(parseFrigateVersion('"0.18.0-9c0e5f1"\n')?.minor).toBe(18);
    expect(parseFrigateVersion('0.17.0-beta2-1a2b3c4')?.minor).toBe(17);
    expect(parseFrigateVersion('Frigate 0.16')).toBeNull();
    const mode = (t: string) => frigateMode(parseFrigateVersion(t)!);
    expect([
      mode('0.13.2-abc'),
      mode('0.14.1-f4f3cfa'),
      mode('0.17.2-x'),
      mode('0.18.0-y'),
      mode('1.0.0-z'),
    ]).toEqual([null, 'report', 'report', 'purge', 'purge']);
  });

  for (const version of ['0.14.1', '0.16.2', '0.17.0'] as const) {
    it(`${version}: starts in report mode and says Frigate's retention deletes`, async () => {
      await withStandin({ version, cameras: ['hall'] }, async (s) => {
        const rec = createFrigateRecorder(options(s.url), log);
        const d = await rec.start();
        expect(d).toMatchObject({ kind: 'frigate', version: s.versionString, purges: false });
        expect(d.note).toMatch(/Frigate's own retention deletes/);
        await rec.stop();
      });
    });
  }

  it('0.18.0: starts in purge mode', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      const rec = createFrigateRecorder(options(s.url), log);
      expect(await rec.start()).toMatchObject({ version: '0.18.0-9c0e5f1', purges: true });
      await rec.stop();
    });
  });

  it('refuses a Frigate older than 0.14 or an unreadable version, saying why', async () => {
    await withStandin({ version: '0.14.1', cameras: [], versionString: '0.13.2-6476f8a' }, async (s) => {
      await expect(createFrigateRecorder(options(s.url), log).start()).rejects.toThrow(
        /0\.13\.2.*older than 0\.14/,
      );
    });
    await withStandin({ version: '0.14.1', cameras: [], versionString: '<html>proxy</html>' }, async (s) => {
      await expect(createFrigateRecorder(options(s.url), log).start()).rejects.toThrow(/unreadable version/);
    });
  });
});

describe('purge on 0.18 (DELETE with inclusive ranges)', () => {
  it('keeps a held segment in the middle of long segments while the runs around it go', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall', 'door'] }, async (s) => {
      // Back-to-back segments (one's end is the next one's start), 45 s to 600 s long.
      const hall = seed(s, 'hall', T0, [600, 45, 600, 320, 600, 17, 600]);
      seed(s, 'door', T0, [600, 600, 600]);
      const held = hall[3]!;
      // A one-second hold inside the fourth segment, for hall only.
      const hold: Hold = {
        from: (held.start_time + 100) * 1000,
        to: (held.start_time + 101) * 1000,
        cameras: new Set(['hall']),
      };
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      const r = await rec.purge({ before: (T0 + 10 * DAY_S) * 1000, cameras: null, holds: [hold] });
      expect(ids(s.rows('hall'))).toEqual([held.id]);
      expect(s.rows('door')).toEqual([]);
      expect(r).toMatchObject({ deleted: 9, held: 1, errors: 0, skipped: [] });
      expect(r.oldest).toBeNull(); // all that is left is held
      expect(r.cameras).toEqual(
        expect.arrayContaining([
          { name: 'hall', oldest: null, files: 1 },
          { name: 'door', oldest: null, files: 0 },
        ]),
      );
      // Two ranges for hall (before and after the hold), one for door; each camera listed twice (verification).
      expect(deletes(s)).toHaveLength(3);
      expect(s.requests.filter((q) => q.startsWith('GET /api/hall/recordings?'))).toHaveLength(2);
      // The held segment's file is still there, untouched.
      expect(readFileSync(held.path).length).toBeGreaterThan(0);
      expect(r.calls).toBe(s.requests.length - 1); // every request but start()'s /api/version
      await rec.stop();
    });
  });

  it('the trap is real: the raw bounds of the run before a hold delete the held segment too', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      const rows = seed(s, 'hall', T0, [600, 600, 600]);
      // Raw run bounds [first start, last deletable end]: the end equals the held segment's start.
      const res = await fetch(
        `${s.url}/api/recordings/start/${rows[0]!.start_time}/end/${rows[0]!.end_time}?cameras=hall`,
        { method: 'DELETE' },
      );
      expect(res.status).toBe(200);
      expect(ids(s.rows('hall'))).toEqual([rows[2]!.id]);
    });
  });

  it('keyframe-cut segments that overlap by a few ms: the held one survives, the rest goes', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      // Durations overshoot the next start by up to 40 ms, or fall short of it.
      const rows = seed(s, 'hall', T0, [10, 10, 597, 10, 10, 600, 10], [40, -30, 25, 40, 40, -10, 0]);
      const held = rows[3]!;
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      const r = await rec.purge({
        before: (rows[6]!.start_time + 1) * 1000,
        cameras: null,
        holds: [{ from: held.start_time * 1000 + 2000, to: held.start_time * 1000 + 3000, cameras: null }],
      });
      expect(ids(s.rows('hall'))).toEqual([held.id]);
      expect(r).toMatchObject({ deleted: 6, held: 1, errors: 0 });
      await rec.stop();
    });
  });

  it('a hold that only touches a segment at its edge keeps it (holds are inclusive)', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      const rows = seed(s, 'hall', T0, [600, 600, 600, 600, 600], [0, 0, 30, 0, 0]);
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      // One hold ends exactly where the second segment starts; one starts exactly where the fourth ends.
      const r = await rec.purge({
        before: (T0 + DAY_S) * 1000,
        cameras: null,
        holds: [
          { from: T0 * 1000 + 100_000, to: rows[1]!.start_time * 1000, cameras: null },
          { from: rows[3]!.end_time * 1000, to: rows[3]!.end_time * 1000 + 5000, cameras: null },
        ],
      });
      // The first hold also covers the first segment; the second touches the fourth and the fifth (back to back).
      expect(ids(s.rows('hall'))).toEqual(ids([rows[0]!, rows[1]!, rows[3]!, rows[4]!]));
      expect(r).toMatchObject({ deleted: 1, held: 4, errors: 0 });
      await rec.stop();
    });
  });

  it('keeps what starts at or after the cutoff, and segments beyond what was listed', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      const rows = seed(s, 'hall', T0, [600, 600, 600, 600]);
      const before = rows[2]!.start_time * 1000; // the third starts exactly at the cutoff: it stays
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      const r = await rec.purge({ before, cameras: null, holds: [] });
      expect(ids(s.rows('hall'))).toEqual(ids([rows[2]!, rows[3]!]));
      expect(r).toMatchObject({ deleted: 2, held: 0, errors: 0, oldest: rows[2]!.start_time * 1000 });
      await rec.stop();
    });
  });

  it('verifies by listing again: a range Frigate failed to delete counts as errors, the others still go', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      const rows = seed(s, 'hall', T0, [600, 600, 600, 600, 600]);
      const held = rows[2]!;
      s.failNext('/api/recordings/start/', 500);
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      const r = await rec.purge({
        before: (T0 + DAY_S) * 1000,
        cameras: null,
        holds: [{ from: held.start_time * 1000 + 1000, to: held.start_time * 1000 + 1000, cameras: null }],
      });
      // The first range (before the hold) failed; the second went.
      expect(ids(s.rows('hall'))).toEqual(ids([rows[0]!, rows[1]!, held]));
      expect(r).toMatchObject({ deleted: 2, held: 1, errors: 2, oldest: rows[0]!.start_time * 1000 });
      await rec.stop();
    });
  });

  it('a Frigate that answers success but deletes nothing is caught by the verification', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      const rows = seed(s, 'hall', T0, [600, 600]);
      s.failNext('/api/recordings/start/', 200);
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      const r = await rec.purge({ before: (T0 + DAY_S) * 1000, cameras: null, holds: [] });
      expect(r).toMatchObject({ deleted: 0, errors: 2, oldest: rows[0]!.start_time * 1000 });
      await rec.stop();
    });
  });
});

describe('planDeletes', () => {
  it('splits long runs into bounded ranges that reach every deletable segment and no kept one', () => {
    const segs: Listed[] = [];
    for (let i = 0; i < 5 * MAX_SEGMENTS_PER_DELETE; i++) {
      segs.push({
        camera: 'hall',
        id: `s${i}`,
        startS: T0 + i * 10,
        endS: T0 + i * 10 + 10 + (i % 3) * 0.02,
      });
    }
    // Kept: one segment in the middle (a hold) and everything from index 9000 on (newer than the cutoff).
    const keptIdx = new Set([4321]);
    const deletable = new Set(segs.filter((_, i) => i < 9000 && !keptIdx.has(i)).map((s) => s.id));
    const { ranges, stuck } = planDeletes(segs, deletable, T0 + 1e6);
    expect(stuck).toEqual([]);
    expect(ranges.length).toBe(
      Math.ceil(4321 / MAX_SEGMENTS_PER_DELETE) + Math.ceil((9000 - 4322) / MAX_SEGMENTS_PER_DELETE),
    );
    const caught = new Set<string>();
    for (const r of ranges) {
      expect(r.ids.length).toBeLessThanOrEqual(MAX_SEGMENTS_PER_DELETE);
      expect(r.start).toBeLessThan(r.end);
      for (const s of segs) {
        // Frigate's test: start_time or end_time in [start, end], or the segment spans the range.
        const hit =
          (s.startS >= r.start && s.startS <= r.end) ||
          (s.endS >= r.start && s.endS <= r.end) ||
          (r.start > s.startS && r.end < s.endS);
        if (hit) {
          expect(deletable.has(s.id), `range ${r.start}..${r.end} catches kept ${s.id}`).toBe(true);
          caught.add(s.id);
        }
      }
    }
    expect(caught).toEqual(deletable);
  });
});

describe('0.14 to 0.17: report only', () => {
  it('deletes nothing, lists every day, reports what is left; Frigate’s own retention then deletes held footage', async () => {
    await withStandin({ version: '0.16.2', cameras: ['hall'], retainDays: 7 }, async (s) => {
      const now = Date.now() / 1000;
      const old = seed(s, 'hall', Math.floor(now - 9 * DAY_S), [600, 600, 600]);
      const recent = seed(s, 'hall', Math.floor(now - 2 * DAY_S), [600]);
      const held = old[1]!;
      const holds: Hold[] = [
        { from: held.start_time * 1000 + 1, to: held.start_time * 1000 + 2, cameras: null },
      ];
      const rec = createFrigateRecorder(options(s.url), log);
      const d = await rec.start();
      expect(d.purges).toBe(false);
      const r = await rec.purge({ before: (now - 7 * DAY_S) * 1000, cameras: null, holds });
      expect(deletes(s)).toEqual([]);
      expect(r).toMatchObject({ deleted: 0, held: 1, errors: 0, oldest: old[0]!.start_time * 1000 });
      expect(r.cameras).toEqual([{ name: 'hall', oldest: old[0]!.start_time * 1000, files: 4 }]);
      // Frigate's cleanup (retain 7 days) knows nothing of the hold: the held segment goes with the rest.
      expect(s.runRetention(now)).toBe(3);
      expect(ids(s.rows('hall'))).toEqual(ids(recent));
      await rec.stop();
    });
  });

  it('the delete route does not exist before 0.18 (404), so nothing can be deleted through the API', async () => {
    await withStandin({ version: '0.17.0', cameras: ['hall'] }, async (s) => {
      const rows = seed(s, 'hall', T0, [600]);
      const res = await fetch(`${s.url}/api/recordings/start/${T0}/end/${T0 + 700}?cameras=hall`, {
        method: 'DELETE',
      });
      expect(res.status).toBe(404);
      expect(ids(s.rows())).toEqual(ids(rows));
    });
  });
});

describe('auth on the authenticated port (8971)', () => {
  const auth = { user: 'dorvakt', password: 'a long enough password' };

  it('logs in with the password from the environment and sends the token as a bearer', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'], auth }, async (s) => {
      seed(s, 'hall', T0, [600, 600]);
      const rec = createFrigateRecorder(
        options(s.url, { username: 'dorvakt', password_env: 'FRIGATE_PW' }),
        log,
        {
          env: { FRIGATE_PW: auth.password },
        },
      );
      await rec.start();
      const r = await rec.purge({ before: (T0 + DAY_S) * 1000, cameras: null, holds: [] });
      expect(r).toMatchObject({ deleted: 2, errors: 0 });
      expect(s.logins).toBe(1);
      await rec.stop();
    });
  });

  it('reads the password from a file', async () => {
    await withStandin({ version: '0.16.2', cameras: ['hall'], auth }, async (s, dir) => {
      const file = join(dir, 'frigate.password');
      writeFileSync(file, `${auth.password}\n`);
      const rec = createFrigateRecorder(options(s.url, { username: 'dorvakt', password_file: file }), log);
      await expect(rec.start()).resolves.toMatchObject({ purges: false });
      await rec.stop();
    });
  });

  it('a wrong password is a clear error that does not carry the password', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'], auth }, async (s) => {
      const rec = createFrigateRecorder(
        options(s.url, { username: 'dorvakt', password_env: 'FRIGATE_PW' }),
        log,
        {
          env: { FRIGATE_PW: 'wrong-password-123' },
        },
      );
      const err = await rec.start().then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/login as dorvakt failed \(POST \/api\/login: 401\)/);
      expect(err?.message).not.toContain('wrong-password-123');
    });
  });

  it('without a user the authenticated port answers 401, named with the route', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'], auth }, async (s) => {
      await expect(createFrigateRecorder(options(s.url), log).start()).rejects.toThrow(
        /GET \/api\/version: 401/,
      );
    });
  });

  it('logs in again when the token has expired', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'], auth }, async (s) => {
      seed(s, 'hall', T0, [600]);
      const rec = createFrigateRecorder(options(s.url, { username: 'dorvakt', password_env: 'P' }), log, {
        env: { P: auth.password },
      });
      await rec.start();
      s.expireTokens();
      const { segments } = await rec.segments(T0 * 1000, (T0 + 600) * 1000, null);
      expect(segments).toHaveLength(1);
      expect(s.logins).toBe(2);
      await rec.stop();
    });
  });
});

describe('exports and listing', () => {
  it('copies raw segments bit-exact from /recordings/…', async () => {
    await withStandin({ version: '0.16.2', cameras: ['hall', 'door'] }, async (s, dir) => {
      // Crosses midnight UTC: the listing is chunked by day and must not drop or double the crossing segment.
      const rows = seed(s, 'hall', T0 + DAY_S - 900, [600, 600, 600]);
      seed(s, 'door', T0 + DAY_S - 900, [600]);
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      const { segments, skipped } = await rec.segments(
        (T0 + DAY_S - 600) * 1000,
        (T0 + DAY_S + 700) * 1000,
        new Set(['hall']),
      );
      expect(skipped).toEqual([]);
      expect(segments.map((g) => g.start)).toEqual(rows.map((r) => r.start_time * 1000));
      for (const [i, seg] of segments.entries()) {
        expect(join(s.recordingsDir, seg.rel)).toBe(rows[i]!.path);
        expect(seg.end).toBe(rows[i]!.end_time * 1000);
        const target = join(dir, `copy-${i}.mp4`);
        await rec.copySegment(seg, target);
        expect(createHash('sha256').update(readFileSync(target)).digest('hex')).toBe(s.fileSha256(rows[i]!));
      }
      // A copy never overwrites.
      await expect(rec.copySegment(segments[0]!, join(dir, 'copy-0.mp4'))).rejects.toThrow(/EEXIST/);
      await rec.stop();
    });
  });

  it('errors name the route and the status; a 503 is retried', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      seed(s, 'hall', T0, [600]);
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      s.failNext('/api/hall/recordings', 503);
      expect((await rec.segments(T0 * 1000, (T0 + 60) * 1000, null)).segments).toHaveLength(1);
      s.failNext('/api/hall/recordings', 500);
      const r = await rec.segments(T0 * 1000, (T0 + 60) * 1000, null);
      expect(r.segments).toEqual([]);
      expect(r.skipped).toEqual([
        { path: '/api/hall/recordings', why: expect.stringMatching(/GET \/api\/hall\/recordings: 500/) },
      ]);
      await rec.stop();
    });
  });
});

describe('a Frigate that was down when the agent started', () => {
  it('is asked for its version again at the next use, and then answers as usual', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      seed(s, 'hall', T0, [600]);
      const rec = createFrigateRecorder({ ...options(s.url), retries: 0 }, log);
      s.failNext('/api/version', 500);
      await expect(rec.start()).rejects.toThrow(/api\/version: 500/);
      expect((await rec.segments(T0 * 1000, (T0 + 60) * 1000, null)).segments).toHaveLength(1);
      expect(rec.describe()).toMatchObject({ kind: 'frigate', purges: true });
      await rec.stop();
    });
  });
});

describe('config findings', () => {
  it('reports safe mode on 0.17 (no cameras, no cleanup)', async () => {
    await withStandin({ version: '0.17.0', cameras: ['hall'], safeMode: true }, async (s) => {
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      const f = await rec.configFindings(7);
      expect(f.map((x) => x.kind)).toContain('recorder_safe_mode');
      await rec.stop();
    });
    await withStandin({ version: '0.17.0', cameras: ['hall'] }, async (s) => {
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      expect((await rec.configFindings(7)).map((x) => x.kind)).not.toContain('recorder_safe_mode');
      await rec.stop();
    });
  });

  it('in safe mode (no cameras in the config) a purge reports the gap, never "no footage"', async () => {
    await withStandin({ version: '0.17.0', cameras: ['hall'], safeMode: true }, async (s) => {
      seed(s, 'hall', T0, [600]);
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      const r = await rec.purge({ before: (T0 + DAY_S) * 1000, cameras: new Set(['hall']), holds: [] });
      expect(r.skipped).toEqual([
        { path: '/api/config', why: expect.stringMatching(/no cameras/) },
        { path: '/api/hall/recordings', why: 'not a camera of this Frigate' },
      ]);
      await rec.stop();
    });
  });

  it('an unreadable config is a finding, not a crash', async () => {
    await withStandin({ version: '0.18.0', cameras: ['hall'] }, async (s) => {
      const rec = createFrigateRecorder(options(s.url), log);
      await rec.start();
      s.failNext('/api/config', 500);
      expect(await rec.configFindings(7)).toEqual([
        { kind: 'config_unreadable', detail: expect.stringMatching(/GET \/api\/config: 500/) },
      ]);
      await rec.stop();
    });
  });
});

describe('property: purge on 0.18 with random keyframe-cut segments and random holds', () => {
  let tmp: ReturnType<typeof tempDir>;
  let s: FrigateStandin;
  beforeAll(async () => {
    tmp = tempDir('frigate-prop-');
    s = await FrigateStandin.start({ version: '0.18.0', cameras: ['a', 'b'], root: tmp.path });
  });
  afterAll(async () => {
    await s.close();
    tmp.cleanup();
  });

  const segment = fc.record({
    len: fc.integer({ min: 1, max: 600 }),
    jitterMs: fc.integer({ min: -60, max: 60 }),
    gap: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 300 })),
  });
  const span = 25 * 600;
  const hold = fc.record({
    from: fc.integer({ min: 0, max: span * 1000 }),
    len: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1_800_000 })),
    cameras: fc.constantFrom(null, ['a'], ['b']),
    // Holds that start exactly at a segment's end or end exactly at its start: the inclusive edge.
    snap: fc.constantFrom('none', 'none', 'to-start', 'from-end'),
    edge: fc.nat(),
  });

  it('no segment starting before the cutoff outside a hold remains; every segment overlapping a hold remains', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 25 }),
        fc.array(segment, { minLength: 0, maxLength: 25 }),
        fc.array(hold, { maxLength: 3 }),
        fc.integer({ min: 0, max: (span + 600) * 1000 }),
        async (segsA, segsB, holdSpecs, cutoff) => {
          s.reset();
          const rows: SegmentRow[] = [];
          for (const [camera, list] of [
            ['a', segsA],
            ['b', segsB],
          ] as const) {
            let t = T0;
            for (const g of list) {
              t += g.gap;
              rows.push(s.addSegment(camera, t, g.len + g.jitterMs / 1000, 16));
              t += g.len;
            }
          }
          const holds: Hold[] = holdSpecs.map((h) => {
            const row = rows[h.edge % rows.length]!;
            const cameras = h.cameras ? new Set(h.cameras) : null;
            if (h.snap === 'to-start')
              return { from: row.start_time * 1000 - h.len, to: row.start_time * 1000, cameras };
            if (h.snap === 'from-end')
              return { from: row.end_time * 1000, to: row.end_time * 1000 + h.len, cameras };
            return { from: T0 * 1000 + h.from, to: T0 * 1000 + h.from + h.len, cameras };
          });
          const before = T0 * 1000 + cutoff;
          const rec = createFrigateRecorder(options(s.url), log);
          await rec.start();
          const r = await rec.purge({ before, cameras: null, holds });
          await rec.stop();
          const left = new Set(s.rows().map((x) => x.id));
          for (const row of rows) {
            const exact = { camera: row.camera, start: row.start_time * 1000, end: row.end_time * 1000 };
            const isHeld = overlapsHold(exact, holds);
            if (isHeld) expect(left.has(row.id), `held ${row.id} kept`).toBe(true);
            else if (exact.start < before) expect(left.has(row.id), `${row.id} deleted`).toBe(false);
            else expect(left.has(row.id), `newer ${row.id} kept`).toBe(true);
          }
          expect(r.errors).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
