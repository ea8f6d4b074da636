/** Copies the segments of a window into `<exports>/<case>/` with a manifest of sizes and sha256 sums. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { type Layout, leaves, type ScanCounters } from './layout.ts';

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

export async function exportWindow(
  opts: { root: string; layout: Layout; segmentMs: number; exportsDir: string; now: () => Date },
  job: ExportJob,
): Promise<ExportResult> {
  const location = caseLocation(opts.exportsDir, job.caseDir);
  // A directory without a manifest is an interrupted attempt: start over. The manifest is written last.
  await rm(location, { recursive: true, force: true });
  const partial = `${location}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });

  const counters: ScanCounters = { ignored: 0, links: 0 };
  const files: Manifest['files'] = [];
  for await (const leaf of leaves(opts.root, opts.layout, counters)) {
    if (job.cameras && !job.cameras.has(leaf.camera)) continue;
    for (const seg of leaf.segments) {
      if (!(seg.start <= job.to && seg.start + opts.segmentMs > job.from)) continue;
      const target = join(partial, seg.rel);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(seg.abs, target);
      // Hash the copy: what the police receive is what the manifest describes.
      const [size, sha256] = await Promise.all([stat(target).then((s) => s.size), sha256File(target)]);
      files.push({ path: seg.rel, size, sha256 });
    }
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  const manifest: Manifest = {
    case: job.caseDir,
    request: job.requestId,
    from: new Date(job.from).toISOString(),
    to: new Date(job.to).toISOString(),
    cameras: job.cameras ? [...job.cameras].sort() : [],
    created: opts.now().toISOString(),
    files,
  };
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(partial, MANIFEST), bytes);
  await rename(partial, location);
  return { location, sha256: createHash('sha256').update(bytes).digest('hex'), files: files.length };
}
