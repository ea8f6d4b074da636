/**
 * Camera retention figures: the agent's purge of a large Frigate tree, and the purge request → verified
 * answer round trip over loopback Mosquitto. Printed, never asserted.
 * Standalone: node bin/run-ts.mjs bench/nvr.ts [files] [round-trips]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { Alarms } from '../src/alarms/alarms.ts';
import { EventBus } from '../src/events/bus.ts';
import { createLogger } from '../src/log/logger.ts';
import { nvrConfigDefaults } from '../src/nvr/config.ts';
import { NvrController, type PurgeVerified } from '../src/nvr/controller.ts';
import { NvrAgent } from '../src/nvr-agent/agent.ts';
import { createFilesRecorder } from '../src/nvr-agent/recorders/files.ts';
import { openDb } from '../src/store/db.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { mp4File } from '../test/nvr/helpers.ts';

export interface Figures {
  [name: string]: string | number;
}

const DAY = 86_400_000;
const CAMERAS = ['door', 'hall', 'lobby', 'yard'];
const pad = (n: number) => String(n).padStart(2, '0');
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** Writes `count` 10-second Frigate segments (minimal MP4s whose mvhd says 10 s), spread over cameras. */
function frigateTree(root: string, count: number, end: number): void {
  const made = new Set<string>();
  const segment = mp4File({ durationMs: 10_000 });
  for (let i = 0; i < count; i++) {
    const camera = CAMERAS[i % CAMERAS.length]!;
    const d = new Date(end - Math.floor(i / CAMERAS.length) * 10_000);
    const dir = join(
      root,
      `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
      pad(d.getUTCHours()),
      camera,
    );
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeFileSync(join(dir, `${pad(d.getUTCMinutes())}.${pad(d.getUTCSeconds())}.mp4`), segment);
  }
}

/** The agent deleting `files` segments, all past retention, with one hold in the middle. */
export async function benchAgentPurge(files = 100_000): Promise<Figures> {
  const tmp = tempDir('bench-nvr-purge-');
  try {
    const root = join(tmp.path, 'recordings');
    const end = Date.now() - 8 * DAY;
    const made = process.hrtime.bigint();
    frigateTree(root, files, end);
    const createMs = Number(process.hrtime.bigint() - made) / 1e6;
    // A short hold on one camera: every door segment before it has its mvhd read for the overlap check.
    const holdFrom = end - 3_600_000;
    const start = process.hrtime.bigint();
    const recorder = createFilesRecorder({ kind: 'files', root, layout: 'frigate' }, createLogger('warn'));
    const result = await recorder.purge({
      before: Date.now() - 7 * DAY,
      cameras: null,
      holds: [{ from: holdFrom, to: holdFrom + 50_000, cameras: new Set(['door']) }],
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    return {
      'segment files': files,
      deleted: result.deleted,
      'kept (held)': result.held,
      'tree creation s': round(createMs / 1000, 2),
      'purge s': round(ms / 1000, 2),
      'files/s': Math.round(result.deleted / (ms / 1000)),
    };
  } finally {
    tmp.cleanup();
  }
}

const BENCH_KEY = { id: 'bench', secret: 'bench-key-for-the-nvr-round-trip-0123456789' };

/** purgeNow() → the agent purges a small tree → the controller has checked the answer. */
export async function benchPurgeRoundTrip(rounds = 200, treeFiles = 1000): Promise<Figures> {
  // NVR_BROKER_URL: measure against another broker (e.g. one with `set_tcp_nodelay true`).
  const external = process.env.NVR_BROKER_URL;
  const broker = external ? { url: external, stop: async () => undefined } : await startMosquitto();
  const tmp = tempDir('bench-nvr-rt-');
  process.env.DORVAKT_BENCH_NVR_KEY = BENCH_KEY.secret;
  const log = createLogger('warn');
  try {
    const root = join(tmp.path, 'recordings');
    frigateTree(root, treeFiles, Date.now() - DAY);
    const agent = new NvrAgent({
      config: {
        mqtt: { url: broker.url, base_topic: 'bench-nvr', client_id: 'bench-agent', protocol_version: 5 },
        recorder: { kind: 'files', root, layout: 'frigate' },
        exports_dir: join(tmp.path, 'exports'),
        exports_budget_mb: 1024,
        max_window_hours: 24,
        hold_max_days: 30,
        state_file: join(tmp.path, 'state.json'),
        purge_cron: '0 0 1 1 *',
        retention_days: 7,
        cameras: [],
        min_keep_hours: 1,
        log_level: 'warn',
        auth: { keys: [{ id: 'bench', secret_env: 'DORVAKT_BENCH_NVR_KEY' }], max_skew_seconds: 300 },
      },
      log,
    });
    await agent.start();
    await agent.idle();
    const mqtt = await connectAsync(broker.url, { protocolVersion: 5 });
    const db = openDb(join(tmp.path, 'dorvakt.sqlite'));
    let waiting: ((v: PurgeVerified) => void) | null = null;
    const controller = new NvrController({
      config: nvrConfigDefaults({
        base_topic: 'bench-nvr',
        answer_timeout_ms: 5000,
        purge_cron: '0 0 1 1 *',
      }),
      db,
      mqtt,
      alarms: new Alarms(db, new EventBus(), log),
      log,
      keys: [BENCH_KEY],
      onPurgeVerified: (v) => waiting?.(v),
    });
    controller.start();
    await new Promise((r) => setTimeout(r, 300)); // both subscribed
    const times: number[] = [];
    for (let i = 0; i < rounds + 10; i++) {
      const done = new Promise<PurgeVerified>((r) => {
        waiting = r;
      });
      const start = process.hrtime.bigint();
      controller.purgeNow();
      const v = await done;
      if (!v.ok || v.breach) throw new Error(`unexpected answer ${JSON.stringify(v)}`);
      if (i >= 10) times.push(Number(process.hrtime.bigint() - start) / 1e6); // first 10 warm up
    }
    await controller.stop();
    await mqtt.endAsync();
    await agent.stop();
    db.close();
    times.sort((a, b) => a - b);
    const at = (p: number) =>
      round(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!, 2);
    return {
      broker: external ? external : 'mosquitto (test helper config)',
      'round trips': rounds,
      'tree files walked each time': treeFiles,
      'p50 ms': at(50),
      'p99 ms': at(99),
      'max ms': round(times.at(-1)!, 2),
    };
  } finally {
    await broker.stop();
    tmp.cleanup();
  }
}

export async function benchNvr(): Promise<Figures[]> {
  return [
    await benchAgentPurge(Number(process.env.NVR_FILES ?? 100_000)),
    await benchPurgeRoundTrip(Number(process.env.NVR_ROUNDS ?? 200)),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = Number(process.argv[2] ?? 100_000);
  const rounds = Number(process.argv[3] ?? 200);
  console.table(await benchAgentPurge(files));
  console.table(await benchPurgeRoundTrip(rounds));
}
