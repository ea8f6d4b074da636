/**
 * Export folders of closed cases: the agent's own copies in `exports_dir` whose case no longer has an open hold.
 * They are police copies of patron footage, kept only until delivery; the agent reports them and never deletes
 * them (a person must confirm the delivery).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComplianceFinding, SkippedPlace } from '../../contract/nvr.ts';
import { MANIFEST, type Manifest } from '../export.ts';

export interface OwnExportsOptions {
  exportsDir: string;
  /** Case folders this agent created (its state file's `createdCases`). */
  created: Iterable<string>;
  /** Cases with an open hold: the newest purge list's cases and the live export holds' cases. */
  openCases: Set<string>;
  retentionDays: number;
  now: number;
}

export interface OwnExportsResult {
  findings: ComplianceFinding[];
  /** Folders the agent did not create: never touched, not judged, listed so a person looks at them. */
  skipped: SkippedPlace[];
}

const DAY_MS = 86_400_000;
const PARTIAL = '.partial-';
/** The status stays small whatever the folder holds; the rest is counted. */
const MAX_LISTED = 50;
const MAX_DETAIL = 500;

/** When the copy was made: the manifest's `created`, else (an unfinished attempt) the folder's mtime. */
async function createdAt(dir: string): Promise<number> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Partial<Manifest>;
    const created = Date.parse(String(manifest.created));
    if (!Number.isNaN(created)) return created;
  } catch {
    // No manifest: the copy never finished.
  }
  return (await lstat(dir)).mtimeMs;
}

export async function checkOwnExports(opts: OwnExportsOptions): Promise<OwnExportsResult> {
  const created = new Set(opts.created);
  const skipped: SkippedPlace[] = [];
  let foreign = 0;
  let foreignListed = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(opts.exportsDir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Made on the first export: before that there is nothing to judge.
    if (code === 'ENOENT') return { findings: [], skipped };
    return { findings: [], skipped: [{ path: 'exports', why: `unreadable: ${code ?? String(err)}` }] };
  }
  const cutoff = opts.now - opts.retentionDays * DAY_MS;
  const stale: { path: string; at: number }[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = `exports/${entry.name}`;
    const caseName = entry.name.startsWith(PARTIAL) ? entry.name.slice(PARTIAL.length) : entry.name;
    if (!created.has(caseName)) {
      foreign++;
      if (foreignListed < MAX_LISTED) {
        foreignListed++;
        skipped.push({ path, why: 'not created by this agent: never touched, not judged' });
      }
      continue;
    }
    if (opts.openCases.has(caseName)) continue;
    if (!entry.isDirectory()) {
      skipped.push({ path, why: entry.isSymbolicLink() ? 'symlink' : 'not a directory' });
      continue;
    }
    try {
      const at = await createdAt(join(opts.exportsDir, entry.name));
      if (at < cutoff) stale.push({ path, at });
    } catch (err) {
      skipped.push({ path, why: `unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
    }
  }
  if (foreign > foreignListed) {
    skipped.push({
      path: 'exports/…',
      why: `${foreign - foreignListed} more entries not created by this agent`,
    });
  }
  if (stale.length === 0) return { findings: [], skipped };
  stale.sort((a, b) => a.at - b.at);
  const oldest = stale[0] as { path: string; at: number };
  const rest = stale.slice(1).map((s) => s.path);
  let detail = `${oldest.path} belongs to no open case: delete it after delivery`;
  if (rest.length > 0) detail += ` (and ${rest.length} more: ${rest.join(', ')})`;
  if (detail.length > MAX_DETAIL) detail = `${detail.slice(0, MAX_DETAIL - 2)}…)`;
  return {
    findings: [
      {
        kind: 'stale_exports',
        detail,
        count: stale.length,
        oldest: new Date(oldest.at).toISOString(),
      },
    ],
    skipped,
  };
}
