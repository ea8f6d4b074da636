/** Scans the recorder's media folders outside recordings for patron images older than the retention. */
import type { Dir, Dirent } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComplianceFinding, FindingKind, SkippedPlace } from '../../contract/nvr.ts';

export interface MediaScanOptions {
  /** Frigate's media root (`/media/frigate`): clips, exports, … live under it. */
  mediaRoot: string;
  retentionDays: number;
  now: number;
  /** Names of export folders (directly under Frigate's exports) that belong to an open case. */
  openCaseExports: Set<string>;
}

export interface MediaScanResult {
  findings: ComplianceFinding[];
  skipped: SkippedPlace[];
  /** Files looked at. */
  files: number;
}

const DAY_MS = 86_400_000;
/** Frigate nests at most a few levels (clips/previews/<camera>/…); deeper trees are not its own. */
const MAX_DEPTH = 8;
/** lstat calls in flight at once: enough to keep the thread pool busy, never one per file. */
const STAT_WINDOW = 32;
/** The status stays small whatever the disk holds; the rest is counted. */
const MAX_SKIPPED_LISTED = 50;

type StaleKind = Extract<
  FindingKind,
  'stale_clips' | 'stale_snapshots' | 'stale_thumbnails' | 'stale_previews' | 'stale_exports' | 'stale_faces'
>;

const KIND_WORDS: Record<StaleKind, string> = {
  stale_snapshots: 'snapshots',
  stale_clips: 'event clips and other files in clips/',
  stale_thumbnails: 'thumbnails',
  stale_previews: 'preview clips',
  stale_faces: 'face images',
  stale_exports: 'exports that belong to no open case',
};

/**
 * Which kind a file under `clips/` is, by Frigate's layout: `<camera>-<event>.jpg|-clean.png|-clean.webp`
 * snapshots at the top, `previews/<camera>/`, `review/thumb-<camera>-<id>.webp`, `thumbs/<camera>/<id>.webp`,
 * `faces/…`, `export/<id>.webp` (export thumbnails); anything else (legacy `.mp4` event clips, `cache/`, …)
 * counts as clips.
 */
function clipsKind(top: string | null, name: string): StaleKind {
  if (top === null) return /\.(jpe?g|png|webp)$/i.test(name) ? 'stale_snapshots' : 'stale_clips';
  if (top === 'previews') return 'stale_previews';
  if (top === 'review' || top === 'thumbs') return 'stale_thumbnails';
  if (top === 'faces') return 'stale_faces';
  if (top === 'export') return 'stale_exports';
  return 'stale_clips';
}

const stem = (name: string) => name.replace(/\.[^.]*$/, '');

interface Tally {
  count: number;
  oldest: number;
  oldestPath: string;
}

class Scan {
  readonly tallies = new Map<StaleKind, Tally>();
  readonly skipped: SkippedPlace[] = [];
  skippedCount = 0;
  files = 0;
  readonly cutoff: number;
  readonly openStems: Set<string>;

  constructor(readonly opts: MediaScanOptions) {
    this.cutoff = opts.now - opts.retentionDays * DAY_MS;
    this.openStems = new Set([...opts.openCaseExports].map(stem));
  }

  skip(path: string, why: string): void {
    this.skippedCount++;
    if (this.skipped.length < MAX_SKIPPED_LISTED) this.skipped.push({ path, why });
  }

  stale(kind: StaleKind, path: string, mtime: number): void {
    const t = this.tallies.get(kind);
    if (!t) this.tallies.set(kind, { count: 1, oldest: mtime, oldestPath: path });
    else {
      t.count++;
      if (mtime < t.oldest) {
        t.oldest = mtime;
        t.oldestPath = path;
      }
    }
  }

  /** Walks one directory as a stream; `kindOf` names the kind of a file from its path below the root. */
  async walk(
    abs: string,
    rel: string,
    depth: number,
    kindOf: (rel: string, name: string) => StaleKind | null,
  ) {
    if (depth > MAX_DEPTH) return this.skip(rel, 'nested deeper than Frigate writes');
    let dir: Dir;
    try {
      dir = await opendir(abs, { bufferSize: 256 });
    } catch (err) {
      return this.skip(rel, `unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const batch: Dirent[] = [];
    try {
      for await (const entry of dir) {
        const childRel = `${rel}/${entry.name}`;
        if (entry.isSymbolicLink()) this.skip(childRel, 'symlink');
        else if (entry.isDirectory()) {
          await this.flush(abs, rel, batch, kindOf);
          await this.walk(join(abs, entry.name), childRel, depth + 1, kindOf);
        } else if (entry.isFile()) {
          batch.push(entry);
          if (batch.length >= STAT_WINDOW) await this.flush(abs, rel, batch, kindOf);
        } else this.skip(childRel, 'not a regular file');
      }
      await this.flush(abs, rel, batch, kindOf);
    } catch (err) {
      this.skip(rel, `unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  private async flush(
    abs: string,
    rel: string,
    batch: Dirent[],
    kindOf: (rel: string, name: string) => StaleKind | null,
  ): Promise<void> {
    if (batch.length === 0) return;
    const entries = batch.splice(0);
    const stats = await Promise.allSettled(entries.map((e) => lstat(join(abs, e.name))));
    for (let i = 0; i < entries.length; i++) {
      const name = (entries[i] as Dirent).name;
      const childRel = `${rel}/${name}`;
      const st = stats[i] as PromiseSettledResult<import('node:fs').Stats>;
      if (st.status === 'rejected') {
        // Gone between listing and stat (Frigate's own cleanup): nothing left to judge.
        if ((st.reason as NodeJS.ErrnoException).code !== 'ENOENT') this.skip(childRel, 'unreadable');
        continue;
      }
      // Replaced by a symlink since it was listed.
      if (!st.value.isFile()) {
        this.skip(childRel, st.value.isSymbolicLink() ? 'symlink' : 'not a regular file');
        continue;
      }
      this.files++;
      // Frigate writes these files once, when the event, review item or preview is done, so the mtime is
      // when the image was last of use; names carry start times only, and camera names may hold `-`.
      if (st.value.mtimeMs >= this.cutoff) continue;
      const kind = kindOf(rel, name);
      if (kind) this.stale(kind, childRel, st.value.mtimeMs);
    }
  }
}

/**
 * Counts files older than the retention in Frigate's `clips/` and `exports/` (never `recordings/`, which
 * the purge handles), by mtime. Symlinks are never followed; they and unreadable directories are reported in
 * `skipped`, and a `skipped` finding says how many places went unchecked.
 */
export async function scanMedia(opts: MediaScanOptions): Promise<MediaScanResult> {
  const scan = new Scan(opts);
  try {
    const root = await lstat(opts.mediaRoot);
    if (!root.isDirectory()) scan.skip('.', root.isSymbolicLink() ? 'symlink' : 'not a directory');
  } catch (err) {
    scan.skip('.', `unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (scan.skippedCount === 0) {
    for (const top of ['clips', 'exports'] as const) {
      const abs = join(opts.mediaRoot, top);
      try {
        const st = await lstat(abs);
        if (st.isSymbolicLink()) {
          scan.skip(top, 'symlink');
          continue;
        }
      } catch (err) {
        // Frigate creates both at start: a missing one means a wrong mount, not "no images".
        scan.skip(top, `unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        continue;
      }
      if (top === 'clips') {
        await scan.walk(abs, top, 0, (rel, name) => {
          const sub = rel === 'clips' ? null : (rel.split('/')[1] ?? null);
          if (sub === 'export' && scan.openStems.has(stem(name))) return null;
          return clipsKind(sub, name);
        });
      } else {
        await walkExports(scan, abs);
      }
    }
  }
  return { findings: findingsOf(scan), skipped: scan.skipped, files: scan.files };
}

/** Entries directly under exports/ named in `openCaseExports` are evidence for an open case: left alone. */
async function walkExports(scan: Scan, abs: string): Promise<void> {
  const open = scan.opts.openCaseExports;
  await scan.walk(abs, 'exports', 0, (rel, name) => {
    const top = rel === 'exports' ? name : (rel.split('/')[1] ?? name);
    return open.has(top) ? null : 'stale_exports';
  });
}

function findingsOf(scan: Scan): ComplianceFinding[] {
  const days = scan.opts.retentionDays;
  const findings: ComplianceFinding[] = [];
  for (const kind of Object.keys(KIND_WORDS) as StaleKind[]) {
    const t = scan.tallies.get(kind);
    if (!t) continue;
    const oldest = new Date(t.oldest).toISOString();
    findings.push({
      kind,
      detail: `${t.count} ${KIND_WORDS[kind]} older than ${days} days (oldest: ${t.oldestPath}, ${oldest})`,
      count: t.count,
      oldest,
    });
  }
  if (scan.skippedCount > 0) {
    findings.push({
      kind: 'skipped',
      detail: `${scan.skippedCount} places in the media folder were not checked (first: ${scan.skipped[0]?.path}, ${scan.skipped[0]?.why})`,
      count: scan.skippedCount,
    });
  }
  return findings;
}
