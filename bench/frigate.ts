/**
 * The `frigate` recorder purging 7 days × 4 cameras through Frigate's API (0.18 stand-in on loopback, in this
 * process: the times include the stand-in's SQLite and unlink work, as Frigate would do it). Printed, never asserted.
 * Standalone: node bin/run-ts.mjs bench/frigate.ts
 */
import { createLogger } from '../src/log/logger.ts';
import { createFrigateRecorder } from '../src/nvr-agent/recorders/frigate.ts';
import { FrigateStandin } from '../test/helpers/frigate-standin.ts';
import { tempDir } from '../test/helpers/tmp.ts';

export interface Figures {
  [name: string]: string | number;
}

const CAMERAS = ['door', 'hall', 'lobby', 'yard'];
const DAY_S = 86_400;
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** Deterministic pseudo-random numbers (the bench must be repeatable). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1_664_525 + 1_013_904_223) >>> 0;
    return x / 2 ** 32;
  };
}

/**
 * 8 days of back-to-back segments per camera, cut on keyframes around `segmentS` (±1 s now and then, the probed
 * duration ±40 ms); the purge deletes the first 7 days and keeps the last, with a one-hour hold on one camera.
 */
async function run(segmentS: number): Promise<Figures> {
  const tmp = tempDir('bench-frigate-');
  const standin = await FrigateStandin.start({ version: '0.18.0', cameras: CAMERAS, root: tmp.path });
  try {
    const t0 = Date.UTC(2026, 9, 1) / 1000;
    const random = rng(segmentS);
    const list: { camera: string; startS: number; durationS: number }[] = [];
    for (const camera of CAMERAS) {
      for (let t = t0; t < t0 + 8 * DAY_S; ) {
        const r = random();
        const len = Math.max(1, segmentS + (r < 0.1 ? -1 : r > 0.9 ? 1 : 0));
        list.push({ camera, startS: t, durationS: len + (random() - 0.5) * 0.08 });
        t += len;
      }
    }
    const seeded = process.hrtime.bigint();
    // BENCH_FRIGATE_FILES=0: rows only (Frigate's unlink of a missing file is a no-op), for a quick run.
    standin.addSegments(list, 1, process.env.BENCH_FRIGATE_FILES !== '0');
    const seedS = Number(process.hrtime.bigint() - seeded) / 1e9;
    const before = (t0 + 7 * DAY_S) * 1000;
    const holdFrom = (t0 + 3 * DAY_S + 12 * 3600) * 1000;
    const rec = createFrigateRecorder(
      { kind: 'frigate', url: standin.url, verify_tls: true, cameras: [], timeout_ms: 120_000, retries: 0 },
      createLogger('silent'),
    );
    await rec.start();
    standin.requests.length = 0;
    standin.busyMs = 0;
    const rssBefore = process.memoryUsage().rss;
    const start = process.hrtime.bigint();
    const r = await rec.purge({
      before,
      cameras: null,
      holds: [{ from: holdFrom, to: holdFrom + 3_600_000, cameras: new Set(['hall']) }],
    });
    const purgeS = Number(process.hrtime.bigint() - start) / 1e9;
    await rec.stop();
    const count = (p: string) => standin.requests.filter((q) => q.startsWith(p)).length;
    return {
      'segment length (s)': segmentS,
      'segments (4 cameras × 8 days)': list.length,
      'seed time (s)': round(seedS),
      deleted: r.deleted,
      held: r.held,
      left: standin.rows().length,
      errors: r.errors,
      'API calls': r.calls,
      'of which DELETE': count('DELETE '),
      'of which listings': count('GET /api/') - count('GET /api/config'),
      'purge time (s)': round(purgeS, 2),
      'of which Frigate answering (s)': round(standin.busyMs / 1000, 2),
      'RSS growth (MB)': round((process.memoryUsage().rss - rssBefore) / 2 ** 20),
    };
  } finally {
    await standin.close();
    tmp.cleanup();
  }
}

export async function benchFrigate(): Promise<Figures[]> {
  return [await run(10), await run(600)];
}

if (process.argv[1]?.endsWith('bench/frigate.ts')) {
  for (const f of await benchFrigate()) console.table(f);
}
