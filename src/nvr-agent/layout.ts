/**
 * Reads a recordings tree. Timestamps come from the path (never mtime). Only names that match the layout
 * exactly are ever returned; symlinks and anything else are skipped, so nothing outside the root is reachable.
 *   frigate: <root>/YYYY-MM-DD/HH/<camera>/MM.SS.mp4   (UTC, as Frigate writes it)
 *   flat:    <root>/<camera>/<ISO time with zone>.<ext>
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CAMERA_NAME_PATTERN } from '../contract/nvr.ts';

export type Layout = 'frigate' | 'flat';

export interface Segment {
  /** Path relative to the root, built only from names read from the directory. */
  rel: string;
  abs: string;
  camera: string;
  /** Start of the segment, ms since the epoch (UTC). */
  start: number;
}

/** A directory holding segment files of one camera. */
export interface Leaf {
  dir: string;
  camera: string;
  segments: Segment[];
  /** Directories that may be removed once empty, deepest first (Frigate recreates them). */
  removable: string[];
}

export interface ScanCounters {
  ignored: number;
  links: number;
}

const cameraName = new RegExp(CAMERA_NAME_PATTERN);
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const HOUR = /^(\d{2})$/;
const FRIGATE_FILE = /^(\d{2})\.(\d{2})\.(mp4|mkv|ts|m4s)$/;
const FLAT_FILE =
  /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2})[:-]?(\d{2})[:-]?(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}(?::?\d{2})?)\.(mp4|mkv|ts|m4s|avi|mov|h264|h265)$/;

export const isCameraName = (name: string): boolean => cameraName.test(name);

/** UTC ms for exact calendar values, or null (Date.UTC would roll 2026-02-31 over silently). */
function utc(y: number, mo: number, d: number, h: number, mi: number, s: number): number | null {
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const t = new Date(ms);
  if (
    t.getUTCFullYear() !== y ||
    t.getUTCMonth() !== mo - 1 ||
    t.getUTCDate() !== d ||
    t.getUTCHours() !== h ||
    t.getUTCMinutes() !== mi ||
    t.getUTCSeconds() !== s
  ) {
    return null;
  }
  return ms;
}

export function frigateStart(day: string, hour: string, file: string): number | null {
  const d = DAY.exec(day);
  const h = HOUR.exec(hour);
  const f = FRIGATE_FILE.exec(file);
  if (!d || !h || !f) return null;
  return utc(Number(d[1]), Number(d[2]), Number(d[3]), Number(h[1]), Number(f[1]), Number(f[2]));
}

export function flatStart(file: string): number | null {
  const m = FLAT_FILE.exec(file);
  if (!m) return null;
  const base = utc(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (base === null) return null;
  const frac = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const zone = m[8]!;
  let offsetMin = 0;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const hh = Number(digits.slice(0, 2));
    const mm = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (hh > 23 || mm > 59) return null;
    offsetMin = sign * (hh * 60 + mm);
  }
  return base + frac - offsetMin * 60_000;
}

async function list(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Sorts entries into real directories, real files and the rest (links, sockets, …: counted, skipped). */
function split(entries: Dirent[], counters: ScanCounters): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.isSymbolicLink()) counters.links++;
    else if (e.isDirectory()) dirs.push(e.name);
    else if (e.isFile()) files.push(e.name);
    else counters.ignored++;
  }
  return { dirs, files };
}

/** Every leaf directory under root, in path order. */
export async function* leaves(root: string, layout: Layout, counters: ScanCounters): AsyncGenerator<Leaf> {
  if (layout === 'flat') {
    const { dirs, files } = split(await list(root), counters);
    counters.ignored += files.length;
    for (const camera of dirs.sort()) {
      if (!isCameraName(camera)) {
        counters.ignored++;
        continue;
      }
      const dir = join(root, camera);
      const { dirs: sub, files: names } = split(await list(dir), counters);
      counters.ignored += sub.length;
      const segments: Segment[] = [];
      for (const name of names) {
        const start = flatStart(name);
        if (start === null) counters.ignored++;
        else segments.push({ rel: `${camera}/${name}`, abs: join(dir, name), camera, start });
      }
      yield { dir, camera, segments, removable: [] };
    }
    return;
  }
  const top = split(await list(root), counters);
  counters.ignored += top.files.length;
  for (const day of top.dirs.sort()) {
    if (!DAY.test(day)) {
      counters.ignored++;
      continue;
    }
    const dayDir = join(root, day);
    const hours = split(await list(dayDir), counters);
    counters.ignored += hours.files.length;
    for (const hour of hours.dirs.sort()) {
      if (!HOUR.test(hour)) {
        counters.ignored++;
        continue;
      }
      const hourDir = join(dayDir, hour);
      const cams = split(await list(hourDir), counters);
      counters.ignored += cams.files.length;
      for (const camera of cams.dirs.sort()) {
        if (!isCameraName(camera)) {
          counters.ignored++;
          continue;
        }
        const dir = join(hourDir, camera);
        const { dirs: sub, files: names } = split(await list(dir), counters);
        counters.ignored += sub.length;
        const segments: Segment[] = [];
        for (const name of names) {
          const start = frigateStart(day, hour, name);
          if (start === null) counters.ignored++;
          else
            segments.push({ rel: `${day}/${hour}/${camera}/${name}`, abs: join(dir, name), camera, start });
        }
        yield { dir, camera, segments, removable: [dir, hourDir, dayDir] };
      }
    }
  }
}
