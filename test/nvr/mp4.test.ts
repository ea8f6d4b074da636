import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { mp4DurationMs, mvhdDurationMs } from '../../src/nvr-agent/recorders/mp4.ts';
import { tempDir } from '../helpers/tmp.ts';
import { mp4Box, mp4File, mvhdPayload, mvhdUnits } from './helpers.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'mp4');
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function file(bytes: Buffer): string {
  const d = tempDir('mp4-');
  dirs.push(d);
  const path = join(d.path, 'x.mp4');
  writeFileSync(path, bytes);
  return path;
}

describe('mvhd duration from real ffmpeg output (test/fixtures/mp4)', () => {
  it('reads moov after mdat (segment muxer), before it (faststart), and a version 1 mvhd', async () => {
    expect(await mp4DurationMs(join(FIXTURES, 'moov-last.mp4'))).toBe(2500);
    expect(await mp4DurationMs(join(FIXTURES, 'moov-first.mp4'))).toBe(2500);
    expect(await mp4DurationMs(join(FIXTURES, 'v1-mvhd.mp4'))).toBe(2500);
  });

  it('reads segments cut on irregular keyframes (1.3 s, 1.8 s, 0.9 s), not an assumed length', async () => {
    expect(await mp4DurationMs(join(FIXTURES, 'seg-0.mp4'))).toBe(1300);
    expect(await mp4DurationMs(join(FIXTURES, 'seg-1.mp4'))).toBe(1800);
    expect(await mp4DurationMs(join(FIXTURES, 'seg-2.mp4'))).toBe(900);
  });

  it('gives no duration for a fragmented MP4 (mvhd duration 0): the caller falls back to the next start', async () => {
    expect(await mp4DurationMs(join(FIXTURES, 'fragmented.mp4'))).toBeNull();
  });
});

describe('mvhd duration from boxes built per ISO/IEC 14496-12', () => {
  it('reads versions 0 and 1, any timescale, largesize mdat, moov first or last (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 600_000 }),
        fc.constantFrom<0 | 1>(0, 1),
        fc.constantFrom(1, 600, 1000, 90_000, 1_000_000),
        fc.boolean(),
        fc.boolean(),
        async (durationMs, version, timescale, moovFirst, largeMdat) => {
          const path = file(mp4File({ durationMs, version, timescale, moovFirst, largeMdat }));
          expect(await mp4DurationMs(path)).toBe(mvhdUnits(durationMs, timescale).ms);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads a 64-bit duration in version 1 and rounds up to whole ms', () => {
    expect(mvhdDurationMs(mvhdPayload(1, 90_000, 5_000_000_000n))).toBe(55_555_556);
    expect(mvhdDurationMs(mvhdPayload(0, 3, 1n))).toBe(334);
  });

  it('refuses what the spec marks unknown or impossible', async () => {
    expect(mvhdDurationMs(mvhdPayload(0, 1000, 0xffff_ffffn))).toBeNull(); // all ones: unknown
    expect(mvhdDurationMs(mvhdPayload(1, 1000, 0xffff_ffff_ffff_ffffn))).toBeNull();
    expect(mvhdDurationMs(mvhdPayload(0, 0, 1000n))).toBeNull(); // timescale 0
    expect(mvhdDurationMs(mvhdPayload(0, 1000, 0n))).toBeNull();
    const v2 = mvhdPayload(0, 1000, 1000n);
    v2[0] = 2;
    expect(mvhdDurationMs(v2)).toBeNull();
    expect(mvhdDurationMs(mvhdPayload(1, 1000, 1000n).subarray(0, 31))).toBeNull();
  });

  it('never reads past a box or the file: truncated, oversized and garbage input give null', async () => {
    const good = mp4File({ durationMs: 10_000 });
    expect(await mp4DurationMs(file(good))).toBe(10_000);
    for (let cut = 0; cut < good.length; cut += 7)
      expect(await mp4DurationMs(file(good.subarray(0, cut)))).toBeNull();
    // A moov claiming more bytes than the file has.
    const liar = Buffer.from(good);
    const moovAt = liar.indexOf('moov', 0, 'latin1') - 4;
    liar.writeUInt32BE(10_000, moovAt);
    expect(await mp4DurationMs(file(liar))).toBeNull();
    // A box smaller than its own header stops the walk.
    const tiny = Buffer.from(good);
    tiny.writeUInt32BE(4, 0);
    expect(await mp4DurationMs(file(tiny))).toBeNull();
    expect(await mp4DurationMs(file(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0, 0, 0, 0])))).toBeNull(); // Matroska
    expect(await mp4DurationMs(file(Buffer.alloc(0)))).toBeNull();
    expect(await mp4DurationMs('/nonexistent/x.mp4')).toBeNull();
  });

  it('finds mvhd after other boxes inside moov, and a last box with size 0 (to the end of the file)', async () => {
    const ftyp = mp4Box('ftyp', Buffer.from('isom\0\0\x02\0isom', 'latin1'));
    const moov = mp4Box(
      'moov',
      Buffer.concat([mp4Box('free', Buffer.alloc(10)), mp4Box('mvhd', mvhdPayload(0, 600, 6000n))]),
    );
    const uuid = mp4Box('uuid', Buffer.alloc(20, 1)); // 16-byte usertype + 4
    const mdatToEnd = Buffer.concat([
      Buffer.from([0, 0, 0, 0]),
      Buffer.from('mdat', 'latin1'),
      Buffer.alloc(50),
    ]);
    expect(await mp4DurationMs(file(Buffer.concat([ftyp, uuid, moov, mdatToEnd])))).toBe(10_000);
    // moov after a size-0 mdat cannot exist: the mdat takes the rest of the file.
    expect(await mp4DurationMs(file(Buffer.concat([ftyp, mdatToEnd, moov])))).toBeNull();
  });
});
