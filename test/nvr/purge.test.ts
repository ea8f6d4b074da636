import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { flatStart, frigateStart } from '../../src/nvr-agent/layout.ts';
import { purgeRecordings } from '../../src/nvr-agent/purge.ts';
import { tempDir } from '../helpers/tmp.ts';
import { DAY, flatPath, frigatePath, listFiles, listTree, writeSegment } from './helpers.ts';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const SEG = 10_000;
const CAMS = ['door', 'hall', 'lobby-2'];
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function tmp() {
  const d = tempDir('nvr-purge-');
  dirs.push(d);
  return d.path;
}

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

type Spec = { camera: string; offset: number };
type HoldSpec = { from: number; len: number; cameras: string[] };

const segmentsArb = fc.uniqueArray(
  fc.record({ camera: fc.constantFrom(...CAMS), offset: fc.integer({ min: 0, max: 10 * 86_400 }) }),
  { minLength: 0, maxLength: 60, selector: (s) => `${s.camera}@${s.offset}` },
);
const holdsArb = fc.array(
  fc.record({
    from: fc.integer({ min: 0, max: 10 * 86_400 }),
    len: fc.integer({ min: 0, max: 86_400 }),
    cameras: fc.subarray(CAMS),
  }),
  { maxLength: 4 },
);

/** The oracle, written apart from the code under test. */
function heldSpec(s: Spec, holds: HoldSpec[]): boolean {
  const start = T0 - s.offset * 1000;
  return holds.some((h) => {
    const from = T0 - h.from * 1000;
    const to = from + h.len * 1000;
    const camOk = h.cameras.length === 0 || h.cameras.includes(s.camera);
    return camOk && start <= to && start + SEG > from;
  });
}

function expectedKept(specs: Spec[], holds: HoldSpec[], cutoff: number, scope: string[] | null): Spec[] {
  return specs.filter((s) => {
    const inScope = scope === null || scope.includes(s.camera);
    return heldSpec(s, holds) || !inScope || T0 - s.offset * 1000 >= cutoff;
  });
}

for (const layout of ['frigate', 'flat'] as const) {
  const pathOf = layout === 'frigate' ? frigatePath : flatPath;
  it(`${layout}: deletes exactly the segments older than the cutoff outside holds (property)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        segmentsArb,
        holdsArb,
        fc.integer({ min: 0, max: 10 * 86_400 }),
        fc.option(fc.subarray(CAMS, { minLength: 1 }), { nil: null }),
        async (specs, holdSpecs, cutoffOffset, scope) => {
          const root = tmp();
          const byPath = new Map<string, string>();
          for (const s of specs) {
            const rel = pathOf(s.camera, T0 - s.offset * 1000);
            byPath.set(rel, `${s.camera}@${s.offset}`);
            writeSegment(root, rel);
          }
          const cutoff = T0 - cutoffOffset * 1000;
          const holds = holdSpecs.map((h) => ({
            from: T0 - h.from * 1000,
            to: T0 - h.from * 1000 + h.len * 1000,
            cameras: h.cameras.length ? new Set(h.cameras) : null,
          }));
          const result = await purgeRecordings({
            root,
            layout,
            segmentMs: SEG,
            before: cutoff,
            cameras: scope ? new Set(scope) : null,
            holds,
          });
          const kept = expectedKept(specs, holdSpecs, cutoff, scope);
          const left = listFiles(root).map((p) => byPath.get(p));
          expect(new Set(left)).toEqual(new Set(kept.map((k) => `${k.camera}@${k.offset}`)));
          expect(left.length).toBe(kept.length);
          expect(result.deleted).toBe(specs.length - kept.length);
          // No empty directories left behind in the Frigate tree.
          if (layout === 'frigate') {
            for (const dir of listTree(root).filter((p) => p.endsWith('/'))) {
              expect(readdirSync(join(root, dir)).length).toBeGreaterThan(0);
            }
          }
          // The oldest footage outside holds is reported truthfully.
          const unheld = kept.filter((k) => !heldSpec(k, holdSpecs)).map((k) => T0 - k.offset * 1000);
          expect(result.oldest).toBe(unheld.length ? Math.min(...unheld) : null);
        },
      ),
      { numRuns: 40 },
    );
  });
}

describe('purge never leaves the root', () => {
  it('skips symlinks (to files and to directories) and files outside the layout', async () => {
    const base = tmp();
    const root = join(base, 'recordings');
    const outside = join(base, 'outside');
    mkdirSync(outside, { recursive: true });
    const old = T0 - 20 * DAY;
    writeSegment(outside, frigatePath('door', old), 'precious');
    writeSegment(outside, 'victim.mp4', 'precious');
    writeSegment(root, frigatePath('door', old));
    const camDir = join(root, frigatePath('door', old), '..');
    // A link named like a segment, pointing outside.
    symlinkSync(join(outside, 'victim.mp4'), join(camDir, '59.59.mp4'));
    // A day directory that is a link to a tree outside.
    symlinkSync(join(outside, frigatePath('door', old).split('/')[0]!), join(root, '2020-01-01'));
    // Names that do not match the layout are left alone.
    writeFileSync(join(camDir, 'notes.txt'), 'x');
    mkdirSync(join(root, '..bad'), { recursive: true });
    writeFileSync(join(root, '..bad', 'x.mp4'), 'x');

    const result = await purgeRecordings({
      root,
      layout: 'frigate',
      segmentMs: SEG,
      before: T0,
      cameras: null,
      holds: [],
    });
    expect(result.deleted).toBe(1);
    expect(result.links).toBe(2);
    expect(listFiles(outside).sort()).toEqual([frigatePath('door', old), 'victim.mp4'].sort());
    expect(existsSync(join(camDir, '59.59.mp4'))).toBe(true);
    expect(existsSync(join(camDir, 'notes.txt'))).toBe(true);
    expect(existsSync(join(root, '..bad', 'x.mp4'))).toBe(true);
  });

  it('skips camera directories whose names fail the strict pattern', async () => {
    const root = tmp();
    const old = T0 - 20 * DAY;
    const rel = frigatePath('door', old).replace('/door/', '/bad name/');
    writeSegment(root, rel);
    const result = await purgeRecordings({
      root,
      layout: 'frigate',
      segmentMs: SEG,
      before: T0,
      cameras: null,
      holds: [],
    });
    expect(result.deleted).toBe(0);
    expect(listFiles(root)).toEqual([rel]);
  });

  it('keeps flat camera directories when they become empty, and reports per-camera stats', async () => {
    const root = tmp();
    writeSegment(root, flatPath('door', T0 - 9 * DAY));
    writeSegment(root, flatPath('hall', T0 - 9 * DAY));
    writeSegment(root, flatPath('hall', T0 - DAY));
    const result = await purgeRecordings({
      root,
      layout: 'flat',
      segmentMs: SEG,
      before: T0 - 7 * DAY,
      cameras: null,
      holds: [],
    });
    expect(result.deleted).toBe(2);
    expect(existsSync(join(root, 'door'))).toBe(true);
    expect(result.cameras).toEqual([
      { name: 'door', oldest: null, files: 0 },
      { name: 'hall', oldest: T0 - DAY, files: 1 },
    ]);
    expect(result.oldest).toBe(T0 - DAY);
  });
});
