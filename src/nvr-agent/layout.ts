/**
 * Reads a recordings tree. Timestamps come from the path (never mtime). Only names that match the layout
 * exactly are ever returned; symlinks and anything else are skipped, so nothing outside the root is reachable.
 * Everything skipped is reported with the reason, so a skipped place is never read as "no footage".
 *   frigate: <root>/YYYY-MM-DD/HH/<camera>/MM.SS.mp4   (UTC, as Frigate writes it)
 *   flat:    <root>/<camera>/<ISO time with zone>.<ext>
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
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

/** A place the walk did not enter or read; `at` is the footage time its path names, when it names one. */
export interface SkippedEntry {
  path: string;
  why: string;
  at: number | null;
}

export interface ScanReport {
  skipped: SkippedEntry[];
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

type Listing = { dirs: string[]; files: string[] } | null;

/**
 * Lists a directory into real directories and real files. Anything else (symlinks, sockets, …) and an unreadable
 * directory are reported as skipped. A directory that vanished meanwhile is empty (a concurrent purge).
 */
async function list(root: string, dir: string, at: number | null, report: ScanReport): Promise<Listing> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { dirs: [], files: [] };
    report.skipped.push({
      path: relPath(root, dir),
      why: `unreadable (${code ?? (error as Error).message})`,
      at,
    });
    return null;
  }
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.isSymbolicLink())
      report.skipped.push({ path: relPath(root, join(dir, e.name)), why: 'symbolic link', at });
    else if (e.isDirectory()) dirs.push(e.name);
    else if (e.isFile()) files.push(e.name);
    else report.skipped.push({ path: relPath(root, join(dir, e.name)), why: 'not a file or directory', at });
  }
  return { dirs: dirs.sort(), files: files.sort() };
}

const relPath = (root: string, abs: string): string => relative(root, abs) || '.';

/** Every leaf directory under root, in path order; whatever is not entered lands in `report.skipped`. */
export async function* leaves(root: string, layout: Layout, report: ScanReport): AsyncGenerator<Leaf> {
  const skip = (path: string, why: string, at: number | null) => report.skipped.push({ path, why, at });
  const top = await list(root, root, null, report);
  if (!top) return;
  if (layout === 'flat') {
    for (const f of top.files) skip(f, 'not a directory (camera directories belong here)', null);
    for (const camera of top.dirs) {
      if (!isCameraName(camera)) {
        skip(camera, 'camera name outside [A-Za-z0-9_-]{1,64}', null);
        continue;
      }
      const dir = join(root, camera);
      const listing = await list(root, dir, null, report);
      if (!listing) continue;
      for (const sub of listing.dirs) skip(`${camera}/${sub}`, 'directory inside a camera directory', null);
      const segments: Segment[] = [];
      for (const name of listing.files) {
        const start = flatStart(name);
        if (start === null) skip(`${camera}/${name}`, 'file name outside the flat layout', null);
        else segments.push({ rel: `${camera}/${name}`, abs: join(dir, name), camera, start });
      }
      yield { dir, camera, segments, removable: [] };
    }
    return;
  }
  for (const f of top.files) skip(f, 'not a directory (day directories YYYY-MM-DD belong here)', null);
  for (const day of top.dirs) {
    const dayStart = frigateStart(day, '00', '00.00.mp4');
    if (dayStart === null) {
      skip(day, 'not a day directory (YYYY-MM-DD)', null);
      continue;
    }
    const dayDir = join(root, day);
    const hours = await list(root, dayDir, dayStart, report);
    if (!hours) continue;
    for (const f of hours.files)
      skip(`${day}/${f}`, 'not a directory (hour directories belong here)', dayStart);
    for (const hour of hours.dirs) {
      const hourStart = frigateStart(day, hour, '00.00.mp4');
      if (hourStart === null) {
        skip(`${day}/${hour}`, 'not an hour directory (00-23)', dayStart);
        continue;
      }
      const hourDir = join(dayDir, hour);
      const cams = await list(root, hourDir, hourStart, report);
      if (!cams) continue;
      for (const f of cams.files)
        skip(`${day}/${hour}/${f}`, 'not a directory (camera directories belong here)', hourStart);
      for (const camera of cams.dirs) {
        if (!isCameraName(camera)) {
          skip(`${day}/${hour}/${camera}`, 'camera name outside [A-Za-z0-9_-]{1,64}', hourStart);
          continue;
        }
        const dir = join(hourDir, camera);
        const listing = await list(root, dir, hourStart, report);
        if (!listing) continue;
        for (const sub of listing.dirs)
          skip(`${day}/${hour}/${camera}/${sub}`, 'directory inside a camera directory', hourStart);
        const segments: Segment[] = [];
        for (const name of listing.files) {
          const start = frigateStart(day, hour, name);
          const rel = `${day}/${hour}/${camera}/${name}`;
          if (start === null) skip(rel, 'file name outside the Frigate layout (MM.SS.mp4)', hourStart);
          else segments.push({ rel, abs: join(dir, name), camera, start });
        }
        yield { dir, camera, segments, removable: [dir, hourDir, dayDir] };
      }
    }
  }
}
