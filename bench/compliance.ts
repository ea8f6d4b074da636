/**
 * Compliance scan figures: the agent's walk of Frigate's media folders outside recordings/ (clips, previews,
 * thumbnails, faces, exports), generated once in a temp dir. Printed, never asserted.
 * Standalone: node bin/run-ts.mjs bench/compliance.ts [files]
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanMedia } from '../src/nvr-agent/compliance/media-scan.ts';
import { tempDir } from '../test/helpers/tmp.ts';

export interface Figures {
  [name: string]: string | number;
}

const CAMERAS = ['entrance', 'hall', 'lobby-2', '_yard'];
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/**
 * A realistic mix in Frigate's layout, ages spread evenly over 14 days (so about half is past a 7-day
 * retention): per event a snapshot, its clean copy, an event thumbnail and a review thumbnail; hourly
 * previews; face crops; export folders and files; a few legacy event clips. Returns the files written.
 */
function mediaTree(root: string, total: number, now: number): number {
  let written = 0;
  const made = new Set<string>();
  const put = (rel: string) => {
    const abs = join(root, rel);
    const dir = abs.slice(0, abs.lastIndexOf('/'));
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeFileSync(abs, 'x');
    const t = (now - ((written * 7919) % (14 * 24 * 60)) * 60_000) / 1000;
    utimesSync(abs, t, t);
    written++;
  };
  mkdirSync(join(root, 'recordings'), { recursive: true });
  const previews = CAMERAS.length * 24 * 30;
  const faces = Math.floor(total * 0.055);
  const exportFiles = Math.floor(total * 0.0255);
  const legacy = Math.floor(total * 0.005);
  const events = Math.floor((total - previews - faces - exportFiles - legacy) / 4);
  for (let i = 0; i < events; i++) {
    const cam = CAMERAS[i % CAMERAS.length]!;
    const id = `${1732600000 + i}.${String(i % 1000000).padStart(6, '0')}-${(i * 2654435761).toString(36).slice(-6)}`;
    put(`clips/${cam}-${id}.jpg`);
    put(`clips/${cam}-${id}-clean.webp`);
    put(`clips/thumbs/${cam}/${id}.webp`);
    put(`clips/review/thumb-${cam}-${id}.webp`);
  }
  for (let i = 0; i < previews; i++) {
    const cam = CAMERAS[i % CAMERAS.length]!;
    const start = 1732600000 + Math.floor(i / CAMERAS.length) * 3600;
    put(`clips/previews/${cam}/${start}.0-${start + 3600}.0.mp4`);
  }
  for (let i = 0; i < faces; i++) {
    put(
      i % 10 === 0
        ? `clips/faces/person${i % 50}/${i}.webp`
        : `clips/faces/train/${1732600000 + i}.1-abc-unknown-0.8.webp`,
    );
  }
  for (let i = 0; i < exportFiles; i++) {
    if (i % 50 === 0) put(`exports/${CAMERAS[i % CAMERAS.length]}_export_${i}.mp4`);
    else put(`exports/CASE-${Math.floor(i / 100)}_ab12cd34/entrance/${i}.mp4`);
  }
  while (written < total) put(`clips/${CAMERAS[written % CAMERAS.length]}-${written}.1-legacy.mp4`);
  return written;
}

/** One scan of `files` media files; run three times over the same tree (the first with a colder cache). */
export async function benchComplianceScan(files = 200_000): Promise<Figures[]> {
  const tmp = tempDir('bench-compliance-');
  try {
    const now = Date.now();
    const made = process.hrtime.bigint();
    const written = mediaTree(tmp.path, files, now);
    const createS = Number(process.hrtime.bigint() - made) / 1e9;
    const open = new Set(Array.from({ length: 20 }, (_, i) => `CASE-${i}_ab12cd34`));
    const rows: Figures[] = [];
    for (let run = 1; run <= 3; run++) {
      const rssBefore = process.memoryUsage().rss;
      let peakHeap = 0;
      const sampler = setInterval(() => {
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }, 20);
      const start = process.hrtime.bigint();
      const result = await scanMedia({ mediaRoot: tmp.path, retentionDays: 7, now, openCaseExports: open });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      clearInterval(sampler);
      rows.push({
        run,
        'files written': written,
        'generate (s)': round(createS),
        'files scanned': result.files,
        'scan (ms)': Math.round(ms),
        'files/s': Math.round(result.files / (ms / 1000)),
        findings: result.findings.map((f) => `${f.kind}=${f.count}`).join(' '),
        skipped: result.skipped.length,
        'peak heap (MiB)': round(peakHeap / 2 ** 20),
        'rss growth (MiB)': round((process.memoryUsage().rss - rssBefore) / 2 ** 20),
      });
    }
    return rows;
  } finally {
    tmp.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchComplianceScan(Number(process.argv[2] ?? 200_000));
  console.table(rows);
}
