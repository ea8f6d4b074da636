/**
 * The `files` recorder: footage as files on disk in a known layout (Frigate's tree, or flat per camera). The
 * agent deletes segments itself and verifies by listing again. Starts come from the path (never mtime); ends
 * from the data: the MP4's own duration, else the next segment's start, else now (the newest segment).
 */
import { constants } from 'node:fs';
import { copyFile, lstat, rmdir, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { SkippedPlace } from '../../contract/nvr.ts';
import type { Logger } from '../../log/logger.ts';
import {
  flatStart,
  frigateStart,
  isCameraName,
  type Layout,
  leaves,
  type ScanReport,
  type SkippedEntry,
} from '../layout.ts';
import {
  type CameraStats,
  type Hold,
  overlapsHold,
  type PurgePlan,
  type RecordedSegment,
  type Recorder,
  type RecorderDeps,
  type RecorderPurgeResult,
} from '../recorder.ts';
import { mp4DurationMs } from './mp4.ts';

export interface FilesRecorderOptions {
  kind: 'files';
  /** The recordings root (Frigate: `/media/frigate/recordings`). */
  root: string;
  layout: Layout;
}

/** Config fragment for `recorder:` with `kind: files` (the registry combines the fragments). */
export const filesRecorderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'root'],
  properties: {
    kind: { const: 'files' },
    root: { type: 'string', minLength: 1 },
    layout: { enum: ['frigate', 'flat'], default: 'frigate' },
  },
} as const;

/** Skipped places listed in a status; the rest are counted in one more entry (the status stays small). */
const MAX_SKIPPED = 50;
const UNLINK_BATCH = 64;
/** mvhd reads in flight at once. */
const READ_BATCH = 16;
const MP4_LIKE = /\.(mp4|m4s|mov)$/;

interface FileSegment {
  camera: string;
  start: number;
  rel: string;
  abs: string;
  /** Directories that may be removed once empty (Frigate layout), deepest first. */
  removable: string[];
}

interface Listing {
  /** Per camera, sorted by start. */
  cameras: Map<string, FileSegment[]>;
  skipped: SkippedEntry[];
}

export function createFilesRecorder(
  options: FilesRecorderOptions,
  log: Logger,
  deps: RecorderDeps = { now: Date.now },
): Recorder {
  return new FilesRecorder(options, log, deps);
}

export class FilesRecorder implements Recorder {
  private readonly root: string;
  private readonly layout: Layout;
  private readonly log: Logger;
  private readonly now: () => number;
  /** mvhd durations by path (null: none readable); rebuilt from each listing so it never outgrows the tree. */
  private durations = new Map<string, number | null>();

  constructor(options: FilesRecorderOptions, log: Logger, deps: RecorderDeps) {
    this.root = options.root;
    this.layout = options.layout;
    this.log = log.child({ recorder: 'files' });
    this.now = deps.now;
  }

  async start() {
    return this.describe();
  }

  describe() {
    return {
      kind: 'files' as const,
      version: null,
      purges: true,
      note: `files (${this.layout} layout): the agent deletes segments itself and verifies by listing again`,
    };
  }

  async stop(): Promise<void> {}

  async configFindings() {
    return [];
  }

  async purge(plan: PurgePlan): Promise<RecorderPurgeResult> {
    const first = await this.list();
    const memo = new Map<string, number>();
    let deleted = 0;
    let held = 0;
    const doomed: FileSegment[] = [];
    for (const [camera, segs] of first.cameras) {
      if (plan.cameras && !plan.cameras.has(camera)) continue;
      const holds = holdsFor(camera, plan.holds);
      const candidates: number[] = [];
      for (let i = 0; i < segs.length && segs[i]!.start < plan.before; i++) candidates.push(i);
      const flags = await this.heldFlags(segs, candidates, holds, memo);
      candidates.forEach((i, k) => {
        if (flags[k]) held++;
        else doomed.push(segs[i]!);
      });
    }

    const touched = new Map<string, number>();
    for (let i = 0; i < doomed.length; i += UNLINK_BATCH) {
      const batch = doomed.slice(i, i + UNLINK_BATCH);
      const results = await Promise.allSettled(batch.map((s) => unlink(s.abs)));
      results.forEach((r, j) => {
        const seg = batch[j]!;
        const gone = r.status === 'fulfilled' || (r.reason as NodeJS.ErrnoException).code === 'ENOENT';
        if (gone) deleted++;
        else this.log.error({ path: seg.rel, err: (r.reason as Error).message }, 'could not delete');
        seg.removable.forEach((d, depth) => {
          touched.set(d, depth);
        });
      });
    }
    // Leaves first, then their parents; a directory that is not empty stays (ENOTEMPTY is the normal case).
    const dirs = [...touched].sort((a, b) => a[1] - b[1]).map(([d]) => d);
    for (const dir of dirs) await rmdir(dir).catch(() => undefined);

    // Verify: what is left is read from disk again, not assumed from what was deleted.
    const after = await this.list();
    let errors = 0;
    const cameras: CameraStats[] = [];
    for (const [camera, segs] of after.cameras) {
      const holds = holdsFor(camera, plan.holds);
      const inScope = !plan.cameras || plan.cameras.has(camera);
      let oldest: number | null = null;
      // Every segment left that the plan should have deleted is an error.
      const early: number[] = [];
      for (let i = 0; i < segs.length && segs[i]!.start < plan.before; i++) early.push(i);
      const earlyFlags = await this.heldFlags(segs, early, holds, memo);
      early.forEach((i, k) => {
        if (earlyFlags[k]) return;
        oldest ??= segs[i]!.start;
        if (inScope) errors++;
      });
      // Sorted by start: the first segment outside every hold is the oldest footage outside holds.
      for (let i = early.length; oldest === null && i < segs.length; i += READ_BATCH) {
        const idx = range(i, Math.min(segs.length, i + READ_BATCH));
        const flags = await this.heldFlags(segs, idx, holds, memo);
        const k = flags.indexOf(false);
        if (k >= 0) oldest = segs[idx[k]!]!.start;
      }
      cameras.push({ name: camera, oldest, files: segs.length });
    }
    // A camera whose footage is all gone is still reported (0 files), not forgotten.
    for (const camera of first.cameras.keys())
      if (!after.cameras.has(camera)) cameras.push({ name: camera, oldest: null, files: 0 });
    cameras.sort((a, b) => a.name.localeCompare(b.name));
    let oldest: number | null = null;
    for (const c of cameras)
      if (c.oldest !== null && (oldest === null || c.oldest < oldest)) oldest = c.oldest;
    // A place not read may hold footage of any age: it counts as footage from the time its path names, or
    // from the epoch when its path names none, so the status never looks healthier than the disk is.
    for (const s of after.skipped) if (oldest === null || (s.at ?? 0) < oldest) oldest = s.at ?? 0;
    return { deleted, held, oldest, cameras, skipped: capSkipped(after.skipped), errors, calls: 0 };
  }

  async segments(from: number, to: number, cameras: Set<string> | null) {
    const listing = await this.list();
    const out: RecordedSegment[] = [];
    for (const [camera, segs] of listing.cameras) {
      if (cameras && !cameras.has(camera)) continue;
      const idx: number[] = [];
      for (let i = 0; i < segs.length && segs[i]!.start <= to; i++) idx.push(i);
      const ends = await this.ends(segs, idx, new Map());
      for (let k = 0; k < idx.length; k++) {
        const seg = segs[idx[k]!]!;
        const end = ends[k]!;
        if (end < from) continue;
        const size = await stat(seg.abs).then(
          (s) => s.size,
          () => undefined,
        );
        out.push({ camera, start: seg.start, end, rel: seg.rel, ...(size === undefined ? {} : { size }) });
      }
    }
    const skipped = listing.skipped.filter((s) => s.at === null || s.at <= to);
    return { segments: out, skipped: capSkipped(skipped) };
  }

  async copySegment(segment: RecordedSegment, target: string): Promise<void> {
    const abs = this.pathOf(segment.rel);
    // Only a regular file inside the layout, never through a link; EXCL: never overwrite in the export.
    const st = await lstat(abs);
    if (!st.isFile()) throw new Error(`${segment.rel} is not a regular file`);
    await copyFile(abs, target, constants.COPYFILE_EXCL);
  }

  /** The absolute path of a relative segment path, accepted only when it matches the layout exactly. */
  private pathOf(rel: string): string {
    const parts = rel.split('/');
    const ok =
      this.layout === 'flat'
        ? parts.length === 2 && isCameraName(parts[0]!) && flatStart(parts[1]!) !== null
        : parts.length === 4 &&
          isCameraName(parts[2]!) &&
          frigateStart(parts[0]!, parts[1]!, parts[3]!) !== null;
    if (!ok || isAbsolute(rel) || normalize(rel) !== rel) throw new Error(`${rel} is not a segment path`);
    return join(this.root, rel);
  }

  private async list(): Promise<Listing> {
    // A missing root (an unmounted disk) must not read as "no footage left".
    const rootStat = await stat(this.root).catch(() => null);
    if (!rootStat?.isDirectory()) throw new Error(`recordings root ${this.root} is missing`);
    const report: ScanReport = { skipped: [] };
    const cameras = new Map<string, FileSegment[]>();
    for await (const leaf of leaves(this.root, this.layout, report)) {
      const list = cameras.get(leaf.camera) ?? [];
      cameras.set(leaf.camera, list);
      for (const s of leaf.segments)
        list.push({ camera: s.camera, start: s.start, rel: s.rel, abs: s.abs, removable: leaf.removable });
    }
    const seen = new Map<string, number | null>();
    for (const list of cameras.values()) {
      list.sort((a, b) => a.start - b.start || a.rel.localeCompare(b.rel));
      for (const s of list) {
        const d = this.durations.get(s.rel);
        if (d !== undefined) seen.set(s.rel, d);
      }
    }
    this.durations = seen;
    return { cameras, skipped: report.skipped };
  }

  /** Whether each of `idx` overlaps a hold; ends are read only where a hold starts after the segment. */
  private async heldFlags(
    segs: FileSegment[],
    idx: number[],
    holds: Hold[],
    memo: Map<string, number>,
  ): Promise<boolean[]> {
    if (holds.length === 0) return idx.map(() => false);
    const need = idx.filter((i) => holds.some((h) => h.from > segs[i]!.start));
    const ends = new Map<number, number>();
    const got = await this.ends(segs, need, memo);
    need.forEach((i, k) => {
      ends.set(i, got[k]!);
    });
    return idx.map((i) => {
      const s = segs[i]!;
      // Without a hold starting after the segment, the end cannot change the answer.
      return overlapsHold({ camera: s.camera, start: s.start, end: ends.get(i) ?? s.start }, holds);
    });
  }

  /**
   * Real ends: the container's duration, else the next segment's start, else now. `memo` keeps the ends read
   * before a purge for its verification: a deleted neighbour must not stretch a segment's end.
   */
  private async ends(segs: FileSegment[], idx: number[], memo: Map<string, number>): Promise<number[]> {
    const out: number[] = [];
    for (let b = 0; b < idx.length; b += READ_BATCH) {
      const batch = idx.slice(b, b + READ_BATCH);
      out.push(...(await Promise.all(batch.map((i) => this.endOf(segs, i, memo)))));
    }
    return out;
  }

  private async endOf(segs: FileSegment[], i: number, memo: Map<string, number>): Promise<number> {
    const s = segs[i]!;
    const known = memo.get(s.rel);
    if (known !== undefined) return known;
    const end = await this.readEnd(segs, i);
    memo.set(s.rel, end);
    return end;
  }

  private async readEnd(segs: FileSegment[], i: number): Promise<number> {
    const s = segs[i]!;
    if (MP4_LIKE.test(s.rel)) {
      let d = this.durations.get(s.rel);
      if (d === undefined) {
        d = await mp4DurationMs(s.abs);
        this.durations.set(s.rel, d);
      }
      if (d !== null) return s.start + d;
    }
    for (let j = i + 1; j < segs.length; j++) if (segs[j]!.start > s.start) return segs[j]!.start;
    return Math.max(this.now(), s.start + 1);
  }
}

function holdsFor(camera: string, holds: Hold[]): Hold[] {
  return holds.filter((h) => !h.cameras || h.cameras.has(camera));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

export function capSkipped(skipped: SkippedEntry[]): SkippedPlace[] {
  const out = skipped.slice(0, MAX_SKIPPED).map((s) => ({ path: s.path.slice(0, 1000), why: s.why }));
  if (skipped.length > MAX_SKIPPED)
    out.push({ path: '…', why: `${skipped.length - MAX_SKIPPED} more places skipped` });
  return out;
}
