/**
 * The export's own rules on real folders: case folders and segment paths that may not leave the exports dir,
 * the budget and the free-space reserve, what the manifest says.
 */
import { createHash } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  caseLocation,
  ExportRefusal,
  type ExportJob,
  exportSegments,
  finishedExport,
  type PreparedCase,
  preparedCase,
  sha256File,
} from '../../src/nvr-agent/export.ts';
import type { RecordedSegment, Recorder } from '../../src/nvr-agent/recorder.ts';
import { tempDir } from '../helpers/tmp.ts';

const MB = 1024 * 1024;
const RESERVE = 268_435_456; // 256 MB, worked out by hand
const NOW = new Date('2026-11-30T12:00:00.000Z');

let root: { path: string; cleanup: () => void };
let exportsDir: string;
let srcDir: string;
let copied: string[];
/** The one recorder call an export makes: a bit-exact copy of a real file from the source folder. */
let recorder: Recorder;

beforeEach(() => {
  root = tempDir('dorvakt-export-');
  exportsDir = join(root.path, 'exports');
  srcDir = join(root.path, 'recordings');
  mkdirSync(exportsDir);
  mkdirSync(srcDir);
  copied = [];
  recorder = {
    copySegment: async (seg: RecordedSegment, target: string) => {
      copied.push(seg.rel);
      await copyFile(join(srcDir, seg.rel), target);
    },
  } as unknown as Recorder;
});
afterEach(() => root.cleanup());

/** A file of `size` bytes (sparse: no disk is used for the budget's megabytes). */
function sparse(path: string, size: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '');
  truncateSync(path, size);
}

function source(rel: string, content: string): RecordedSegment {
  mkdirSync(dirname(join(srcDir, rel)), { recursive: true });
  writeFileSync(join(srcDir, rel), content);
  return { camera: rel.split('/')[2] ?? 'cam1', start: 0, end: 1, rel };
}

const job = (over: Partial<ExportJob> = {}): ExportJob => ({
  requestId: 'req-1',
  caseDir: 'case-7',
  from: Date.parse('2026-11-30T10:00:00.000Z'),
  to: Date.parse('2026-11-30T10:30:00.000Z'),
  cameras: null,
  ...over,
});

const sha = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

const prepare = (segments: RecordedSegment[], budgetBytes = 100 * MB, free = 10_000 * MB) =>
  preparedCase(exportsDir, job(), segments, {
    ours: false,
    budgetBytes,
    claim: () => {},
    freeBytes: async () => free,
  });

describe('caseLocation', () => {
  it('accepts a direct child of the exports dir', () => {
    expect(caseLocation(exportsDir, 'case-7')).toBe(join(exportsDir, 'case-7'));
    expect(caseLocation(`${exportsDir}/`, 'case-7')).toBe(join(exportsDir, 'case-7'));
  });

  it.each(['..', '../other', 'a/b', '', '.', '/etc', `${'x/'}..`, '../exports-evil'])(
    'refuses %j',
    (caseDir) => {
      expect(() => caseLocation(exportsDir, caseDir)).toThrow(
        new Error('case directory escapes exports dir'),
      );
    },
  );
});

describe('finishedExport', () => {
  it('is null without a manifest, the first answer again for the same request, other for another', async () => {
    expect(await finishedExport(exportsDir, job())).toBeNull();
    mkdirSync(join(exportsDir, 'case-7'));
    const bytes = `${JSON.stringify({ case: 'case-7', request: 'req-1', files: [{}, {}, {}] })}\n`;
    writeFileSync(join(exportsDir, 'case-7', 'manifest.json'), bytes);
    expect(await finishedExport(exportsDir, job())).toEqual({
      location: join(exportsDir, 'case-7'),
      sha256: sha(bytes),
      files: 3,
    });
    expect(await finishedExport(exportsDir, job({ requestId: 'req-2' }))).toBe('other');
  });

  it('refuses a case folder outside the exports dir before reading anything', async () => {
    await expect(finishedExport(exportsDir, job({ caseDir: '../recordings' }))).rejects.toThrow(
      'case directory escapes exports dir',
    );
  });
});

describe('sha256File', () => {
  it('hashes the bytes and rejects for a missing file', async () => {
    writeFileSync(join(root.path, 'f'), 'abc');
    expect(await sha256File(join(root.path, 'f'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    await expect(sha256File(join(root.path, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});

describe('preparedCase: budget', () => {
  // Existing: 3 MB in another case (nested), a link to 50 MB outside (not counted).
  beforeEach(() => {
    sparse(join(exportsDir, 'old-case', '2026-11-01', '10', 'cam1', 'a.mp4'), 3 * MB);
    sparse(join(root.path, 'outside', 'huge.mp4'), 50 * MB);
    symlinkSync(join(root.path, 'outside', 'huge.mp4'), join(exportsDir, 'old-case', 'link.mp4'));
    symlinkSync(join(root.path, 'outside'), join(exportsDir, 'outside-link'));
  });
  // Needed: 1.5 MB + 0.5 MB + a size the recorder does not know (counts 0 until copied).
  const segments: RecordedSegment[] = [
    { camera: 'cam1', start: 0, end: 1, rel: 'a/cam1/1.mp4', size: 1.5 * MB },
    { camera: 'cam1', start: 1, end: 2, rel: 'a/cam1/2.mp4', size: 0.5 * MB },
    { camera: 'cam2', start: 0, end: 1, rel: 'a/cam2/1.mp4' },
  ];

  it('fits exactly at the budget: existing + needed = budget', async () => {
    const p = await prepare(segments, 5 * MB);
    expect(p).toEqual({
      location: join(exportsDir, 'case-7'),
      partial: join(exportsDir, '.partial-case-7'),
      existingBytes: 3 * MB,
      budgetBytes: 5 * MB,
    });
    expect(readdirSync(p.partial)).toEqual([]);
    expect(existsSync(p.location)).toBe(false);
  });

  it('refuses one byte over, says the figures, and writes nothing', async () => {
    let claimed = 0;
    const refusal = preparedCase(exportsDir, job(), segments, {
      ours: false,
      budgetBytes: 5 * MB - 1,
      claim: () => claimed++,
      freeBytes: async () => 10_000 * MB,
    });
    await expect(refusal).rejects.toThrow(ExportRefusal);
    await expect(refusal).rejects.toThrow(
      new Error(
        'refused: over exports_budget_mb (5 MB): existing exports use 3 MB and this window needs 2 MB; ' +
          'deliver and remove finished exports first',
      ),
    );
    expect(claimed).toBe(0);
    expect(readdirSync(exportsDir).sort()).toEqual(['old-case', 'outside-link']);
  });

  it('keeps the free-space reserve: exactly needed + reserve free is enough, one byte less is refused', async () => {
    const asked: string[] = [];
    const opts = (free: number) => ({
      ours: false,
      budgetBytes: 100 * MB,
      claim: () => {},
      freeBytes: async (dir: string) => {
        asked.push(dir);
        return free;
      },
    });
    const refusal = preparedCase(exportsDir, job(), segments, opts(2 * MB + RESERVE - 1));
    await expect(refusal).rejects.toThrow(ExportRefusal);
    await expect(refusal).rejects.toThrow(
      new Error('refused: the exports disk has 258 MB free; this window needs 2 MB plus 256 MB kept free'),
    );
    expect(readdirSync(exportsDir).sort()).toEqual(['old-case', 'outside-link']);
    await expect(preparedCase(exportsDir, job(), segments, opts(2 * MB + RESERVE))).resolves.toMatchObject({
      existingBytes: 3 * MB,
    });
    expect(asked).toEqual([exportsDir, exportsDir]);
  });
});

describe('preparedCase: whose folder', () => {
  beforeEach(() => {
    sparse(join(exportsDir, 'old-case', 'a.mp4'), 3 * MB);
    // An interrupted attempt: a half-renamed case folder and its work folder.
    sparse(join(exportsDir, 'case-7', 'x', 'old.mp4'), 4 * MB);
    sparse(join(exportsDir, '.partial-case-7', 'y.mp4'), 1 * MB);
  });
  const segments: RecordedSegment[] = [{ camera: 'cam1', start: 0, end: 1, rel: 'a/1.mp4', size: 2 * MB }];

  it("refuses a folder that is not this agent's and leaves it untouched", async () => {
    let claimed = 0;
    const opts = {
      ours: false,
      budgetBytes: 100 * MB,
      claim: () => claimed++,
      freeBytes: async () => 10_000 * MB,
    };
    const refusal = preparedCase(exportsDir, job(), segments, opts);
    await expect(refusal).rejects.toThrow(ExportRefusal);
    await expect(refusal).rejects.toThrow(
      new Error(
        'refused: exports/case-7 already exists and was not created by this agent; it is left untouched',
      ),
    );
    // Only the work folder left: still not ours.
    await expect(
      preparedCase(exportsDir, job({ caseDir: 'case-8' }), segments, opts).then(() => 'prepared'),
    ).resolves.toBe('prepared');
    sparse(join(exportsDir, '.partial-case-9', 'z.mp4'), 10);
    await expect(preparedCase(exportsDir, job({ caseDir: 'case-9' }), segments, opts)).rejects.toThrow(
      'refused: exports/case-9 already exists',
    );
    expect(claimed).toBe(1);
    expect(existsSync(join(exportsDir, 'case-7', 'x', 'old.mp4'))).toBe(true);
    expect(existsSync(join(exportsDir, '.partial-case-7', 'y.mp4'))).toBe(true);
    expect(existsSync(join(exportsDir, '.partial-case-9', 'z.mp4'))).toBe(true);
  });

  it('claims a new folder before creating anything', async () => {
    const seen: boolean[] = [];
    await preparedCase(exportsDir, job({ caseDir: 'case-new' }), segments, {
      ours: false,
      budgetBytes: 100 * MB,
      claim: () => seen.push(existsSync(join(exportsDir, '.partial-case-new'))),
      freeBytes: async () => 10_000 * MB,
    });
    expect(seen).toEqual([false]);
  });

  it('retries its own attempt: its old bytes are not counted, are removed, and nothing is claimed again', async () => {
    let claimed = 0;
    // 3 MB existing + 2 MB needed = 5 MB: fits only if the attempt's own 5 MB are left out.
    const p = await preparedCase(exportsDir, job(), segments, {
      ours: true,
      budgetBytes: 5 * MB,
      claim: () => claimed++,
      freeBytes: async () => 10_000 * MB,
    });
    expect(p.existingBytes).toBe(3 * MB);
    expect(claimed).toBe(0);
    expect(existsSync(join(exportsDir, 'case-7'))).toBe(false);
    expect(readdirSync(join(exportsDir, '.partial-case-7'))).toEqual([]);
    expect(existsSync(join(exportsDir, 'old-case', 'a.mp4'))).toBe(true);
  });
});

describe('exportSegments', () => {
  it('copies bit-exact and writes a manifest that says exactly what it copied', async () => {
    const segs = [
      source('2026-11-30/10/cam2/00.00.mp4', 'second camera'),
      source('2026-11-30/10/cam1/05.00.mp4', 'first camera, later'),
      source('2026-11-30/10/cam1/00.00.mp4', 'first camera'),
    ];
    const p = await prepare(segs);
    const result = await exportSegments(
      recorder,
      p,
      job({ cameras: new Set(['cam2', 'cam1']) }),
      segs,
      [],
      () => NOW,
    );
    const location = join(exportsDir, 'case-7');
    const manifestBytes = readFileSync(join(location, 'manifest.json'));
    expect(result).toEqual({ location, sha256: sha(manifestBytes), files: 3 });
    expect(existsSync(p.partial)).toBe(false);
    expect(JSON.parse(manifestBytes.toString('utf8'))).toStrictEqual({
      case: 'case-7',
      request: 'req-1',
      from: '2026-11-30T10:00:00.000Z',
      to: '2026-11-30T10:30:00.000Z',
      cameras: ['cam1', 'cam2'],
      created: '2026-11-30T12:00:00.000Z',
      files: [
        { path: '2026-11-30/10/cam1/00.00.mp4', size: 12, sha256: sha('first camera') },
        { path: '2026-11-30/10/cam1/05.00.mp4', size: 19, sha256: sha('first camera, later') },
        { path: '2026-11-30/10/cam2/00.00.mp4', size: 13, sha256: sha('second camera') },
      ],
    });
    expect(readFileSync(join(location, '2026-11-30/10/cam1/05.00.mp4'), 'utf8')).toBe('first camera, later');
    expect(manifestBytes.toString('utf8').endsWith('}\n')).toBe(true);
  });

  it('lists no cameras for every camera, and the skipped places only when there are some', async () => {
    const segs = [source('2026-11-30/10/cam1/00.00.mp4', 'x')];
    const skipped = [{ path: '2026-11-30/11', why: 'EACCES' }];
    const withSkipped = await exportSegments(recorder, await prepare(segs), job(), segs, skipped, () => NOW);
    const manifest = JSON.parse(readFileSync(join(withSkipped.location, 'manifest.json'), 'utf8'));
    expect(manifest.cameras).toEqual([]);
    expect(manifest.skipped).toEqual(skipped);

    const other = job({ caseDir: 'case-8', cameras: new Set(['cam1']) });
    const p8 = await preparedCase(exportsDir, other, segs, {
      ours: false,
      budgetBytes: 100 * MB,
      claim: () => {},
      freeBytes: async () => 10_000 * MB,
    });
    const without = await exportSegments(recorder, p8, other, segs, [], () => NOW);
    const manifest8 = JSON.parse(readFileSync(join(without.location, 'manifest.json'), 'utf8'));
    expect(manifest8.cameras).toEqual(['cam1']);
    expect('skipped' in manifest8).toBe(false);
  });

  describe('sizes the recorder did not know are checked as they arrive', () => {
    // Existing 1000 bytes; the window turns out 300 + 200 = 500 bytes.
    let segs: RecordedSegment[];
    beforeEach(() => {
      writeFileSync(join(exportsDir, 'old.bin'), 'e'.repeat(1000));
      segs = [source('d/10/cam1/a.mp4', 'a'.repeat(300)), source('d/10/cam1/b.mp4', 'b'.repeat(200))];
    });

    it('fits exactly at the budget', async () => {
      const p: PreparedCase = await prepare(segs, 1500);
      const r = await exportSegments(recorder, p, job(), segs, [], () => NOW);
      expect(r.files).toBe(2);
    });

    it('one byte over: refused, the work folder removed, no case folder', async () => {
      const p = await prepare(segs, 1499);
      const refusal = exportSegments(recorder, p, job(), segs, [], () => NOW);
      await expect(refusal).rejects.toThrow(ExportRefusal);
      await expect(refusal).rejects.toThrow(
        new Error(
          'refused: over exports_budget_mb (0.1 MB) while copying: existing exports use 0.1 MB ' +
            'and the window is larger than 0.1 MB',
        ),
      );
      expect(copied).toEqual(['d/10/cam1/a.mp4', 'd/10/cam1/b.mp4']);
      expect(readdirSync(exportsDir)).toEqual(['old.bin']);
    });
  });

  // Paths a recorder (or a tampered listing) could give: none may be written, inside or outside the case.
  const hostile = [
    '',
    '.',
    '..',
    '../escape.mp4',
    '../../escape.mp4',
    'a/../../escape.mp4',
    'a/../b.mp4',
    './b.mp4',
    'a/./b.mp4',
    'a/.',
    'a//b.mp4',
    'a/',
    '/etc/passwd',
    `/escape.mp4`,
    'a\\b.mp4',
    '..\\escape.mp4',
  ];
  it.each(hostile)('refuses the segment path %j and copies nothing of it', async (rel) => {
    const ok = source('d/10/cam1/ok.mp4', 'ok');
    const p = await prepare([ok]);
    const bad: RecordedSegment = { camera: 'cam1', start: 0, end: 1, rel };
    await expect(exportSegments(recorder, p, job(), [ok, bad], [], () => NOW)).rejects.toThrow(
      new Error(`segment path ${JSON.stringify(rel)} is not a plain relative path`),
    );
    expect(copied).toEqual(['d/10/cam1/ok.mp4']);
    expect(existsSync(join(exportsDir, 'escape.mp4'))).toBe(false);
    expect(existsSync(join(root.path, 'escape.mp4'))).toBe(false);
    expect(existsSync(join(exportsDir, 'case-7'))).toBe(false);
  });
});
