/** Applies a purge to a recordings tree: deletes segments that start before the cutoff, unless held. */
import { rmdir, stat, unlink } from 'node:fs/promises';
import { type Layout, leaves, type ScanCounters, type Segment } from './layout.ts';

export interface Hold {
  from: number;
  to: number;
  /** null: every camera. */
  cameras: Set<string> | null;
}

export interface PurgeOptions {
  root: string;
  layout: Layout;
  /** Segments are assumed to last this long when checking overlap with a hold. */
  segmentMs: number;
  /** Delete segments starting before this (ms); -Infinity only scans. */
  before: number;
  /** Cameras to purge; null: every camera. */
  cameras: Set<string> | null;
  holds: Hold[];
}

export interface CameraStats {
  name: string;
  /** Oldest footage left outside holds (ms), or null. */
  oldest: number | null;
  files: number;
}

export interface PurgeResult {
  deleted: number;
  /** Oldest footage left outside holds, over all cameras. */
  oldest: number | null;
  cameras: CameraStats[];
  held: number;
  ignored: number;
  links: number;
  errors: number;
}

const UNLINK_BATCH = 64;

/** True when the segment [start, start + segmentMs) overlaps a hold for its camera. */
export function isHeld(seg: Pick<Segment, 'camera' | 'start'>, holds: Hold[], segmentMs: number): boolean {
  for (const h of holds) {
    if (h.cameras && !h.cameras.has(seg.camera)) continue;
    if (seg.start <= h.to && seg.start + segmentMs > h.from) return true;
  }
  return false;
}

export async function purgeRecordings(
  opts: PurgeOptions,
  onError?: (path: string, err: Error) => void,
): Promise<PurgeResult> {
  // A missing root (an unmounted disk) must not read as "no footage left".
  const rootStat = await stat(opts.root).catch(() => null);
  if (!rootStat?.isDirectory()) throw new Error(`recordings root ${opts.root} is missing`);
  const counters: ScanCounters = { ignored: 0, links: 0 };
  const stats = new Map<string, CameraStats>();
  const touched = new Set<string>();
  const dirDepth = new Map<string, number>();
  let deleted = 0;
  let held = 0;
  let errors = 0;

  for await (const leaf of leaves(opts.root, opts.layout, counters)) {
    const cam = stats.get(leaf.camera) ?? { name: leaf.camera, oldest: null, files: 0 };
    stats.set(leaf.camera, cam);
    const inScope = !opts.cameras || opts.cameras.has(leaf.camera);
    const doomed: Segment[] = [];
    for (const seg of leaf.segments) {
      const isHeldSeg = isHeld(seg, opts.holds, opts.segmentMs);
      if (isHeldSeg) held++;
      if (inScope && !isHeldSeg && seg.start < opts.before) {
        doomed.push(seg);
        continue;
      }
      cam.files++;
      if (!isHeldSeg && (cam.oldest === null || seg.start < cam.oldest)) cam.oldest = seg.start;
    }
    for (let i = 0; i < doomed.length; i += UNLINK_BATCH) {
      const batch = doomed.slice(i, i + UNLINK_BATCH);
      const results = await Promise.allSettled(batch.map((s) => unlink(s.abs)));
      results.forEach((r, j) => {
        const seg = batch[j]!;
        if (r.status === 'fulfilled') deleted++;
        else if ((r.reason as NodeJS.ErrnoException).code === 'ENOENT') deleted++;
        else {
          errors++;
          // Still there, so it still counts as footage.
          cam.files++;
          if (cam.oldest === null || seg.start < cam.oldest) cam.oldest = seg.start;
          onError?.(seg.rel, r.reason as Error);
        }
      });
    }
    if (doomed.length > 0) {
      leaf.removable.forEach((d, depth) => {
        touched.add(d);
        dirDepth.set(d, depth);
      });
    }
  }

  // Leaves first, then their parents; a directory that is not empty stays (ENOTEMPTY is the normal case).
  const dirs = [...touched].sort((a, b) => dirDepth.get(a)! - dirDepth.get(b)!);
  for (const dir of dirs) await rmdir(dir).catch(() => undefined);

  const cameras = [...stats.values()].sort((a, b) => a.name.localeCompare(b.name));
  let oldest: number | null = null;
  for (const c of cameras) if (c.oldest !== null && (oldest === null || c.oldest < oldest)) oldest = c.oldest;
  return { deleted, oldest, cameras, held, ignored: counters.ignored, links: counters.links, errors };
}
