import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { flatStart, frigateStart, type Layout } from '../../src/nvr-agent/layout.ts';
import type { Hold } from '../../src/nvr-agent/recorder.ts';
import { createFilesRecorder } from '../../src/nvr-agent/recorders/files.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  DAY,
  flatPath,
  frigatePath,
  listFiles,
  listTree,
  mp4File,
  mvhdUnits,
  writeSegment,
} from './helpers.ts';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const NOW = T0 + 3_600_000;
const CAMS = ['door', '_back', '-side'];
const log = createLogger('silent');
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function tmp() {
  const d = tempDir('nvr-files-');
  dirs.push(d);
  return d.path;
}
const recorder = (root: string, layout: Layout = 'frigate', now = NOW) =>
  createFilesRecorder({ kind: 'files', root, layout }, log, { now: () => now });

describe('segment timestamps come from the path', () => {
  it('reads Frigate paths as UTC and refuses impossible dates', () => {
    expect(frigateStart('2026-11-26', '09', '05.07.mp4')).toBe(Date.UTC(2026, 10, 26, 9, 5, 7));
    expect(frigateStart('2026-02-31', '09', '05.07.mp4')).toBeNull();
    expect(frigateStart('2026-11-26', '24', '05.07.mp4')).toBeNull();
    expect(frigateStart('2026-11-26', '09', '05.61.mp4')).toBeNull();
    expect(frigateStart('2026-11-26', '09', '05.07.mp4.bak')).toBeNull();
  });

  it('reads flat ISO names with a zone, and refuses names without one', () => {
    expect(flatStart('2026-11-26T09:05:07Z.mp4')).toBe(Date.UTC(2026, 10, 26, 9, 5, 7));
    expect(flatStart('20261126T090507Z.mkv')).toBe(Date.UTC(2026, 10, 26, 9, 5, 7));
    expect(flatStart('2026-11-26T10:05:07+01:00.mp4')).toBe(Date.UTC(2026, 10, 26, 9, 5, 7));
    expect(flatStart('2026-11-26T09:05:07.250Z.mp4')).toBe(Date.UTC(2026, 10, 26, 9, 5, 7, 250));
    expect(flatStart('2026-11-26T09:05:07.mp4')).toBeNull();
    expect(flatStart('notes.txt')).toBeNull();
  });
});

/** One generated segment: whole-second start (as the paths say), a real length, with or without an mvhd. */
interface GenSeg {
  camera: string;
  start: number;
  lengthMs: number;
  container: 'v0' | 'v1' | 'none';
  timescale: number;
}

/**
 * Per camera: a run of segments of 1 s … 600 s (fractional ms: cut on keyframes), separated by gaps of 0 … 900 s,
 * starting at an irregular second. Some files carry no readable mvhd (their end is the next start, or now).
 */
const cameraRunArb = (camera: string) =>
  fc
    .record({
      firstOffset: fc.integer({ min: 0, max: 3 * 86_400 }),
      segs: fc.array(
        fc.record({
          lengthMs: fc.integer({ min: 1000, max: 600_000 }),
          gapS: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 900 })),
          container: fc.constantFrom<GenSeg['container']>('v0', 'v1', 'none'),
          timescale: fc.constantFrom(1000, 90_000, 600, 1),
        }),
        { maxLength: 12 },
      ),
    })
    .map(({ firstOffset, segs }) => {
      const out: GenSeg[] = [];
      let t = T0 - 4 * DAY + firstOffset * 1000;
      for (const s of segs) {
        if (t >= NOW) break;
        out.push({ camera, start: t, lengthMs: s.lengthMs, container: s.container, timescale: s.timescale });
        t += Math.ceil(s.lengthMs / 1000) * 1000 + s.gapS * 1000;
      }
      return out;
    });

const holdsArb = fc.array(
  fc.record({
    // ms precision: holds start and end anywhere, also in the middle of a segment.
    from: fc.integer({ min: T0 - 4 * DAY, max: NOW }),
    lenMs: fc.integer({ min: 0, max: 2 * 3_600_000 }),
    cameras: fc.subarray(CAMS),
  }),
  { maxLength: 4 },
);

/** Holds that touch a segment exactly: ending at its start, or starting at its real end (inclusive ranges). */
const touchingArb = fc.array(
  fc.record({
    pick: fc.nat(),
    at: fc.constantFrom<'endsAtStart' | 'startsAtEnd'>('endsAtStart', 'startsAtEnd'),
    lenMs: fc.integer({ min: 0, max: 600_000 }),
  }),
  { maxLength: 3 },
);

/** The oracle's end, written apart from the code under test: mvhd duration, else next start, else now. */
function oracleEnd(seg: GenSeg, all: GenSeg[]): number {
  if (seg.container !== 'none') return seg.start + mvhdUnits(seg.lengthMs, seg.timescale).ms;
  const next = all
    .filter((o) => o.camera === seg.camera && o.start > seg.start)
    .sort((a, b) => a.start - b.start)[0];
  return next ? next.start : NOW;
}

function writeGen(root: string, layout: Layout, seg: GenSeg): string {
  const rel = (layout === 'frigate' ? frigatePath : flatPath)(seg.camera, seg.start);
  const bytes =
    seg.container === 'none'
      ? Buffer.from(`no moov ${rel}`)
      : mp4File({
          durationMs: seg.lengthMs,
          version: seg.container === 'v1' ? 1 : 0,
          timescale: seg.timescale,
        });
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), bytes);
  return rel;
}

for (const layout of ['frigate', 'flat'] as const) {
  it(`${layout}: after a purge nothing unheld before the cutoff remains, and every held segment does (property)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(...CAMS.map(cameraRunArb)),
        holdsArb,
        touchingArb,
        fc.integer({ min: T0 - 4 * DAY, max: NOW }),
        fc.option(fc.subarray(CAMS, { minLength: 1 }), { nil: null }),
        async (runs, randomHolds, touching, cutoff, scope) => {
          const root = tmp();
          const all = runs.flat();
          const holdSpecs = [...randomHolds];
          for (const t of all.length ? touching : []) {
            const seg = all[t.pick % all.length]!;
            const from = t.at === 'endsAtStart' ? seg.start - t.lenMs : oracleEnd(seg, all);
            holdSpecs.push({ from, lenMs: t.lenMs, cameras: [seg.camera] });
          }
          const relOf = new Map(all.map((s) => [writeGen(root, layout, s), s]));
          const holds: Hold[] = holdSpecs.map((h) => ({
            from: h.from,
            to: h.from + h.lenMs,
            cameras: h.cameras.length ? new Set(h.cameras) : null,
          }));
          const heldByOracle = (s: GenSeg) => {
            const end = oracleEnd(s, all);
            return holdSpecs.some(
              (h) =>
                (h.cameras.length === 0 || h.cameras.includes(s.camera)) &&
                s.start <= h.from + h.lenMs &&
                end >= h.from,
            );
          };
          const result = await recorder(root, layout).purge({
            before: cutoff,
            cameras: scope ? new Set(scope) : null,
            holds,
          });
          const left = new Set(listFiles(root).map((p) => relOf.get(p)));
          for (const s of all) {
            const inScope = scope === null || scope.includes(s.camera);
            if (heldByOracle(s)) expect(left.has(s), `held ${s.camera}@${s.start} must remain`).toBe(true);
            else if (inScope && s.start < cutoff)
              expect(left.has(s), `${s.camera}@${s.start} must go`).toBe(false);
            else expect(left.has(s)).toBe(true);
          }
          expect(result.deleted).toBe(all.length - left.size);
          expect(result.errors).toBe(0);
          const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
          expect([...result.skipped].sort(byPath)).toEqual([]);
          if (layout === 'frigate') {
            for (const dir of listTree(root).filter((p) => p.endsWith('/')))
              expect(readdirSync(join(root, dir)).length).toBeGreaterThan(0);
          }
          // What is left is reported truthfully: the oldest footage outside holds, per camera and overall.
          const unheld = [...left].filter((s) => s && !heldByOracle(s)).map((s) => s!.start);
          expect(result.oldest).toBe(unheld.length ? Math.min(...unheld) : null);
          for (const c of result.cameras) {
            const mine = [...left].filter((s) => s?.camera === c.name);
            expect(c.files).toBe(mine.length);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
}

describe('segment ends come from the data', () => {
  it('a hold starting in the middle of a 600 s segment keeps the segment (the 10 s assumption lost it)', async () => {
    const root = tmp();
    const t = T0 - 9 * DAY;
    writeSegment(root, frigatePath('door', t), mp4File({ durationMs: 600_000 }));
    writeSegment(root, frigatePath('door', t + 600_000), mp4File({ durationMs: 600_000 }));
    const holdFrom = t + 300_000; // five minutes into the first segment
    const result = await recorder(root).purge({
      before: T0,
      cameras: null,
      holds: [{ from: holdFrom, to: holdFrom + 60_000, cameras: null }],
    });
    expect(listFiles(root)).toEqual([frigatePath('door', t)]);
    expect(result).toMatchObject({ deleted: 1, held: 1, oldest: null });
  });

  it('without a readable mvhd a segment lasts until the next one starts; the newest until now', async () => {
    const root = tmp();
    const t = T0 - 9 * DAY;
    writeSegment(root, frigatePath('door', t), 'no moov');
    writeSegment(root, frigatePath('door', t + 45_000), 'no moov');
    const rec = recorder(root, 'frigate', t + 120_000);
    const { segments } = await rec.segments(t + 44_000, t + 44_500, null);
    expect(segments.map((s) => [s.rel, s.end])).toEqual([[frigatePath('door', t), t + 45_000]]);
    const newest = await rec.segments(t + 100_000, t + 110_000, null);
    expect(newest.segments.map((s) => s.end)).toEqual([t + 120_000]);
  });
});

describe('cameras as Frigate names them, and places skipped', () => {
  it('purges and lists cameras named _back and -side', async () => {
    const root = tmp();
    for (const cam of ['_back', '-side']) {
      writeSegment(root, frigatePath(cam, T0 - 9 * DAY));
      writeSegment(root, frigatePath(cam, T0 - DAY));
    }
    const rec = recorder(root);
    const result = await rec.purge({ before: T0 - 7 * DAY, cameras: null, holds: [] });
    expect(result.deleted).toBe(2);
    expect(result.cameras).toEqual([
      { name: '_back', oldest: T0 - DAY, files: 1 },
      { name: '-side', oldest: T0 - DAY, files: 1 },
    ]);
    const { segments } = await rec.segments(T0 - DAY - 1000, T0 - DAY + 1000, new Set(['_back']));
    expect(segments.map((s) => s.rel)).toEqual([frigatePath('_back', T0 - DAY)]);
  });

  it('skips symlinks, bad names and strays outside the layout, reports each, and never reads them as no footage', async () => {
    const base = tmp();
    const root = join(base, 'recordings');
    const outside = join(base, 'outside');
    mkdirSync(outside, { recursive: true });
    const old = T0 - 20 * DAY;
    writeSegment(outside, frigatePath('door', old), 'precious');
    writeSegment(outside, 'victim.mp4', 'precious');
    writeSegment(root, frigatePath('door', old));
    const camDir = join(root, frigatePath('door', old), '..');
    const [day, hour] = frigatePath('door', old).split('/');
    // A link named like a segment, pointing outside.
    symlinkSync(join(outside, 'victim.mp4'), join(camDir, '59.59.mp4'));
    // A day directory that is a link to a tree outside.
    symlinkSync(join(outside, day!), join(root, '2020-01-01'));
    writeFileSync(join(camDir, 'notes.txt'), 'x');
    mkdirSync(join(root, '..bad'), { recursive: true });
    writeFileSync(join(root, '..bad', 'x.mp4'), 'x');
    mkdirSync(join(root, day!, hour!, 'bad name'), { recursive: true });
    writeFileSync(join(root, day!, hour!, 'bad name', '00.00.mp4'), 'x');

    const result = await recorder(root).purge({ before: T0, cameras: null, holds: [] });
    expect(result.deleted).toBe(1);
    expect(listFiles(outside).sort()).toEqual([frigatePath('door', old), 'victim.mp4'].sort());
    expect(existsSync(join(camDir, '59.59.mp4'))).toBe(true);
    expect(existsSync(join(camDir, 'notes.txt'))).toBe(true);
    expect(readFileSync(join(root, '..bad', 'x.mp4'), 'utf8')).toBe('x');
    const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
    expect([...result.skipped].sort(byPath)).toEqual(
      [
        { path: '..bad', why: 'not a day directory (YYYY-MM-DD)' },
        { path: '2020-01-01', why: 'symbolic link' },
        { path: `${day}/${hour}/bad name`, why: 'camera name outside [A-Za-z0-9_-]{1,64}' },
        { path: `${day}/${hour}/door/59.59.mp4`, why: 'symbolic link' },
        { path: `${day}/${hour}/door/notes.txt`, why: 'file name outside the Frigate layout (MM.SS.mp4)' },
      ].sort(byPath),
    );
    // Nothing readable is left, yet `oldest` is not null: the skipped places count as footage of their time.
    expect(result.cameras).toEqual([{ name: 'door', oldest: null, files: 0 }]);
    expect(result.oldest).not.toBeNull();
    expect(result.oldest).toBeLessThanOrEqual(Date.parse(`${day}T${hour}:00:00Z`));
  });

  it('a skipped place whose path names no time counts as footage of unknown age (the epoch)', async () => {
    const root = tmp();
    mkdirSync(join(root, 'lost+found'));
    const result = await recorder(root).purge({ before: T0, cameras: null, holds: [] });
    const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
    expect([...result.skipped].sort(byPath)).toEqual([
      { path: 'lost+found', why: 'not a day directory (YYYY-MM-DD)' },
    ]);
    expect(result.oldest).toBe(0);
  });

  it('keeps flat camera directories when they become empty, and reports per-camera stats', async () => {
    const root = tmp();
    writeSegment(root, flatPath('door', T0 - 9 * DAY));
    writeSegment(root, flatPath('hall', T0 - 9 * DAY));
    writeSegment(root, flatPath('hall', T0 - DAY));
    const result = await recorder(root, 'flat').purge({ before: T0 - 7 * DAY, cameras: null, holds: [] });
    expect(result.deleted).toBe(2);
    expect(existsSync(join(root, 'door'))).toBe(true);
    expect(result.cameras).toEqual([
      { name: 'door', oldest: null, files: 0 },
      { name: 'hall', oldest: T0 - DAY, files: 1 },
    ]);
    expect(result.oldest).toBe(T0 - DAY);
  });

  it('copies a segment bit-exact, and refuses paths outside the layout', async () => {
    const root = tmp();
    const rel = frigatePath('door', T0 - DAY);
    writeSegment(root, rel, 'bytes');
    const rec = recorder(root);
    const [seg] = (await rec.segments(T0 - DAY, T0 - DAY, null)).segments;
    expect(seg).toMatchObject({ rel, size: 5 });
    const target = join(tmp(), 'copy.mp4');
    await rec.copySegment(seg!, target);
    expect(readFileSync(target, 'utf8')).toBe('bytes');
    await expect(rec.copySegment({ ...seg!, rel: '../../etc/passwd' }, join(tmp(), 'x'))).rejects.toThrow(
      /not a segment path/,
    );
  });
});
