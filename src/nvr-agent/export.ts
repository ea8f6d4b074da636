/**
 * Copies the segments of a window into `<exports>/<case>/` with a manifest of sizes and sha256 sums. The copy
 * is bit-exact (the recorder's raw segments, under the recorder's relative paths) and is itself the hold.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { SkippedPlace } from '../contract/nvr.ts';
import type { RecordedSegment, Recorder } from './recorder.ts';

export interface ExportJob {
  requestId: string;
  caseDir: string;
  from: number;
  to: number;
  /** null: every camera. */
  cameras: Set<string> | null;
}

export interface Manifest {
  case: string;
  request: string;
  from: string;
  to: string;
  cameras: string[];
  created: string;
  files: { path: string; size: number; sha256: string }[];
  /** Places in the window the recorder could not read: the export may lack their footage. */
  skipped?: SkippedPlace[];
}

export interface ExportResult {
  location: string;
  /** sha256 of manifest.json exactly as written. */
  sha256: string;
  files: number;
}

export const MANIFEST = 'manifest.json';

export function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

/** The case directory, checked to be a direct child of the exports directory. */
export function caseLocation(exportsDir: string, caseDir: string): string {
  const base = resolve(exportsDir);
  const location = resolve(base, caseDir);
  if (dirname(location) !== base || !location.startsWith(base + sep))
    throw new Error('case directory escapes exports dir');
  return location;
}

/** An export already finished for this request (same id): answer it again from disk. */
export async function finishedExport(
  exportsDir: string,
  job: ExportJob,
): Promise<ExportResult | 'other' | null> {
  const location = caseLocation(exportsDir, job.caseDir);
  let bytes: Buffer;
  try {
    bytes = await readFile(join(location, MANIFEST));
  } catch {
    return null;
  }
  const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
  if (manifest.request !== job.requestId) return 'other';
  return { location, sha256: createHash('sha256').update(bytes).digest('hex'), files: manifest.files.length };
}

/** A request the agent will not carry out; nothing was written. The message is the answer's `error`. */
export class ExportRefusal extends Error {}

/** The disk keeps this much free after an export (the recorder host needs room for its own state and logs). */
const FREE_RESERVE_BYTES = 256 * 1024 * 1024;
const MB = 1024 * 1024;
const mb = (bytes: number) => `${Math.ceil((bytes / MB) * 10) / 10} MB`;

export interface PreparedCase {
  location: string;
  /** Work folder, renamed to `location` once the manifest is written. Case names never start with a dot. */
  partial: string;
  existingBytes: number;
  budgetBytes: number;
}

async function diskFreeBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return Number(fs.bavail) * Number(fs.bsize);
}

const present = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** Bytes of regular files under dir (links not followed), leaving out `except`. */
async function treeBytes(dir: string, except: Set<string>): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const abs = join(dir, e.name);
    if (except.has(abs) || e.isSymbolicLink()) continue;
    if (e.isDirectory()) total += await treeBytes(abs, except);
    else if (e.isFile())
      total += await stat(abs).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

/**
 * Checks that the case folder may be written (absent, or an unfinished attempt of this agent's own) and that the
 * window fits the budget and the free space, then creates the work folder. `claim` records the folder as this
 * agent's before anything is created, so an interrupted attempt is recognised after a restart.
 */
export async function preparedCase(
  exportsDir: string,
  job: ExportJob,
  segments: RecordedSegment[],
  opts: {
    ours: boolean;
    budgetBytes: number;
    claim: () => void;
    /** Free bytes on the exports disk; tests inject it, the agent uses the real disk's figure. */
    freeBytes?: (dir: string) => Promise<number>;
  },
): Promise<PreparedCase> {
  const location = caseLocation(exportsDir, job.caseDir);
  const partial = join(resolve(exportsDir), `.partial-${job.caseDir}`);
  await mkdir(exportsDir, { recursive: true });
  if (!opts.ours && ((await present(location)) || (await present(partial)))) {
    throw new ExportRefusal(
      `refused: exports/${job.caseDir} already exists and was not created by this agent; it is left untouched`,
    );
  }
  const except = opts.ours ? new Set([location, partial]) : new Set<string>();
  const existingBytes = await treeBytes(resolve(exportsDir), except);
  const needed = segments.reduce((sum, s) => sum + (s.size ?? 0), 0);
  if (existingBytes + needed > opts.budgetBytes) {
    throw new ExportRefusal(
      `refused: over exports_budget_mb (${mb(opts.budgetBytes)}): existing exports use ${mb(existingBytes)} ` +
        `and this window needs ${mb(needed)}; deliver and remove finished exports first`,
    );
  }
  const free = await (opts.freeBytes ?? diskFreeBytes)(exportsDir);
  if (needed + FREE_RESERVE_BYTES > free) {
    throw new ExportRefusal(
      `refused: the exports disk has ${mb(free)} free; this window needs ${mb(needed)} plus ${mb(FREE_RESERVE_BYTES)} kept free`,
    );
  }
  if (!opts.ours) opts.claim();
  // Only this agent's own unfinished attempt is ever removed (it never got its manifest).
  await rm(location, { recursive: true, force: true });
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  return { location, partial, existingBytes, budgetBytes: opts.budgetBytes };
}

/** A recorder's relative path as a path inside `dir`, refusing anything that could leave it. */
function inside(dir: string, rel: string): string {
  const parts = rel.split('/');
  if (rel.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\')))
    throw new Error(`segment path ${JSON.stringify(rel)} is not a plain relative path`);
  const target = resolve(dir, rel);
  if (!target.startsWith(dir + sep)) throw new Error(`segment path ${JSON.stringify(rel)} leaves the export`);
  return target;
}

export async function exportSegments(
  recorder: Recorder,
  prepared: PreparedCase,
  job: ExportJob,
  segments: RecordedSegment[],
  skipped: SkippedPlace[],
  now: () => Date,
): Promise<ExportResult> {
  const { partial, location } = prepared;
  const files: Manifest['files'] = [];
  let bytes = 0;
  for (const seg of segments) {
    const target = inside(partial, seg.rel);
    await mkdir(dirname(target), { recursive: true });
    await recorder.copySegment(seg, target);
    // Hash the copy: what the police receive is what the manifest describes.
    const [size, sha256] = await Promise.all([stat(target).then((s) => s.size), sha256File(target)]);
    files.push({ path: seg.rel, size, sha256 });
    bytes += size;
    // Sizes a recorder did not know beforehand are checked as they arrive.
    if (prepared.existingBytes + bytes > prepared.budgetBytes) {
      await rm(partial, { recursive: true, force: true });
      throw new ExportRefusal(
        `refused: over exports_budget_mb (${mb(prepared.budgetBytes)}) while copying: existing exports use ` +
          `${mb(prepared.existingBytes)} and the window is larger than ${mb(bytes)}`,
      );
    }
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  const manifest: Manifest = {
    case: job.caseDir,
    request: job.requestId,
    from: new Date(job.from).toISOString(),
    to: new Date(job.to).toISOString(),
    cameras: job.cameras ? [...job.cameras].sort() : [],
    created: now().toISOString(),
    files,
    ...(skipped.length > 0 ? { skipped } : {}),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(partial, MANIFEST), manifestBytes);
  await rename(partial, location);
  return {
    location,
    sha256: createHash('sha256').update(manifestBytes).digest('hex'),
    files: files.length,
  };
}
