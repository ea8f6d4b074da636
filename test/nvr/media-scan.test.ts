import { chmodSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scanMedia } from '../../src/nvr-agent/compliance/media-scan.ts';
import { tempDir } from '../helpers/tmp.ts';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const DAY = 86_400_000;
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function media(): string {
  const d = tempDir('nvr-media-');
  dirs.push(d);
  for (const sub of ['clips', 'exports', 'recordings']) mkdirSync(join(d.path, sub));
  return d.path;
}
/** A file whose mtime is `ageDays` before NOW. */
function put(root: string, rel: string, ageDays: number): void {
  const abs = join(root, rel);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, 'x');
  const t = (NOW - ageDays * DAY) / 1000;
  utimesSync(abs, t, t);
}
const scan = (root: string, open: string[] = []) =>
  scanMedia({ mediaRoot: root, retentionDays: 7, now: NOW, openCaseExports: new Set(open) });

/** A file in each of Frigate's folders, and the kind it counts as when stale. */
const FOLDERS: [string, string][] = [
  ['clips/entrance-1732600000.123456-ab12cd.jpg', 'stale_snapshots'],
  ['clips/entrance-1732600000.123456-ab12cd-clean.png', 'stale_snapshots'],
  ['clips/_hall-1732600000.5-zz99yy-clean.webp', 'stale_snapshots'],
  ['clips/entrance-1732600000.123456-ab12cd.mp4', 'stale_clips'],
  ['clips/previews/entrance/1732600000.0-1732603600.0.mp4', 'stale_previews'],
  ['clips/review/thumb-entrance-1732600000.1-q1w2e3.webp', 'stale_thumbnails'],
  ['clips/thumbs/entrance/1732600000.123456-ab12cd.webp', 'stale_thumbnails'],
  ['clips/faces/train/1732600000.1-ab12cd-person-0.9.webp', 'stale_faces'],
  ['clips/faces/Ola/abc.webp', 'stale_faces'],
  ['exports/entrance_20261120_1200.mp4', 'stale_exports'],
  ['clips/export/entrance_20261120_1200.webp', 'stale_exports'],
];

describe('media scan outside recordings', () => {
  it.each(FOLDERS)('a stale %s counts as %s; a fresh one counts as nothing', async (rel, kind) => {
    const root = media();
    put(root, rel, 6.9);
    expect((await scan(root)).findings).toEqual([]);
    put(root, rel, 7.1);
    const { findings, skipped, files } = await scan(root);
    expect(skipped).toEqual([]);
    expect(files).toBe(1);
    expect(findings).toEqual([
      {
        kind,
        count: 1,
        oldest: new Date(NOW - 7.1 * DAY).toISOString(),
        detail: expect.stringContaining(rel),
      },
    ]);
  });

  it('one finding per kind with the count and the oldest', async () => {
    const root = media();
    put(root, 'clips/a-1.1-x.jpg', 8);
    put(root, 'clips/b-1.1-x.jpg', 30);
    put(root, 'clips/c-1.1-x.jpg', 1);
    put(root, 'clips/review/thumb-a-1.1-x.webp', 9);
    const { findings, files } = await scan(root);
    expect(files).toBe(4);
    expect(findings.map((f) => [f.kind, f.count, f.oldest])).toEqual([
      ['stale_snapshots', 2, new Date(NOW - 30 * DAY).toISOString()],
      ['stale_thumbnails', 1, new Date(NOW - 9 * DAY).toISOString()],
    ]);
  });

  it('never looks in recordings/ (the purge handles it)', async () => {
    const root = media();
    put(root, 'recordings/2026-11-01/10/entrance/00.00.mp4', 29);
    expect(await scan(root)).toEqual({ findings: [], skipped: [], files: 0 });
  });

  it('exports of an open case are left alone, others are stale', async () => {
    const root = media();
    put(root, 'exports/CASE-1_ab12cd34/manifest.json', 20);
    put(root, 'exports/CASE-1_ab12cd34/entrance/00.00.mp4', 20);
    put(root, 'exports/entrance_open.mp4', 20);
    put(root, 'clips/export/entrance_open.webp', 20);
    put(root, 'exports/CASE-2_closed/manifest.json', 20);
    const open = await scan(root, ['CASE-1_ab12cd34', 'entrance_open.mp4']);
    expect(open.findings.map((f) => [f.kind, f.count])).toEqual([['stale_exports', 1]]);
    expect(open.findings[0]?.detail).toContain('CASE-2_closed');
    const none = await scan(root);
    expect(none.findings.map((f) => [f.kind, f.count])).toEqual([['stale_exports', 5]]);
  });

  it('a symlink to an old file outside is skipped and reported, never followed', async () => {
    const root = media();
    const outside = media();
    put(outside, 'secret.jpg', 100);
    symlinkSync(join(outside, 'secret.jpg'), join(root, 'clips', 'entrance-1.1-x.jpg'));
    symlinkSync(outside, join(root, 'clips', 'previews'));
    const { findings, skipped, files } = await scan(root);
    expect(files).toBe(0);
    expect(skipped).toEqual(
      expect.arrayContaining([
        { path: 'clips/entrance-1.1-x.jpg', why: 'symlink' },
        { path: 'clips/previews', why: 'symlink' },
      ]),
    );
    expect(findings.map((f) => [f.kind, f.count])).toEqual([['skipped', 2]]);
  });

  it('an unreadable directory is skipped, not read as "no images"', async () => {
    if (process.getuid?.() === 0) return; // root reads anything
    const root = media();
    put(root, 'clips/faces/Ola/abc.webp', 30);
    chmodSync(join(root, 'clips', 'faces'), 0o000);
    try {
      const { findings, skipped } = await scan(root);
      expect(skipped).toEqual([{ path: 'clips/faces', why: 'unreadable: EACCES' }]);
      expect(findings.map((f) => f.kind)).toEqual(['skipped']);
    } finally {
      chmodSync(join(root, 'clips', 'faces'), 0o755);
    }
  });

  it('a folder that cannot be opened is skipped (works as root too)', async () => {
    const d = tempDir('nvr-media-');
    dirs.push(d);
    writeFileSync(join(d.path, 'clips'), 'not a folder');
    mkdirSync(join(d.path, 'exports'));
    const { skipped, findings } = await scan(d.path);
    expect(skipped).toEqual([{ path: 'clips', why: 'unreadable: ENOTDIR' }]);
    expect(findings.map((f) => f.kind)).toEqual(['skipped']);
  });

  it('a missing media root or clips folder is skipped', async () => {
    const root = media();
    const gone = await scan(join(root, 'nope'));
    expect(gone.skipped).toEqual([{ path: '.', why: 'unreadable: ENOENT' }]);
    expect(gone.findings.map((f) => f.kind)).toEqual(['skipped']);
    const d = tempDir('nvr-media-');
    dirs.push(d);
    mkdirSync(join(d.path, 'exports'));
    expect((await scan(d.path)).skipped).toEqual([{ path: 'clips', why: 'unreadable: ENOENT' }]);
  });

  it('keeps the skipped list short whatever the disk holds', async () => {
    const root = media();
    const outside = media();
    put(outside, 'x.jpg', 1);
    for (let i = 0; i < 120; i++) symlinkSync(join(outside, 'x.jpg'), join(root, 'clips', `l${i}.jpg`));
    const { skipped, findings } = await scan(root);
    expect(skipped).toHaveLength(50);
    expect(findings).toEqual([expect.objectContaining({ kind: 'skipped', count: 120 })]);
  });
});
