/**
 * Start → door ready after a power cut: the real CLI as systemd starts it (the unit's Node flags, dist/ when
 * built), killed with SIGKILL after each start. The figure is the `readyMs` of its "door ready" log line
 * (performance.now() since the process began). Cold: an empty store, so the doors wait for the schedule
 * compiler; warm: the plans saved by an earlier start (schedule/saved-plans.ts).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnService } from '../test/faults/service-child.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { createPtyPair } from '../test/helpers/pty.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { unitNodeFlags } from '../test/helpers/unit-flags.ts';

type Figures = Record<string, string | number>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function benchStart(runs = Number(process.env.START_RUNS ?? 7)): Promise<Figures[]> {
  const broker = await startMosquitto();
  const pty = await createPtyPair();
  const dir = tempDir('bench-start-');
  const store = join(dir.path, 'store.sqlite');
  const cacheDir = join(dir.path, 'cache');
  mkdirSync(cacheDir, { mode: 0o700 });
  writeFileSync(join(dir.path, 'key'), 'bench-site-key-0123456789abcdef');
  const config = join(dir.path, 'dorvakt.yaml');
  // A real library's schedule: public holidays, an exception, staffed and staffless hours.
  writeFileSync(
    config,
    `site: { id: bench, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule:
      staffed: "Mo-Fr 10:00-16:00; Sa 10:00-14:00"
      staffless: "Mo-Su 07:00-22:00"
      holidays_closed: true
      exceptions: [{ date: "2026-12-24", staffless: "07:00-13:00" }]
    reader: { path: ${pty.devicePath}, profile: line }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${store} }
mqtt: { url: "${broker.url}" }
ops: { port: 0 }
web: { enabled: false }
log: { level: info }
`,
  );
  const built = existsSync('dist/cli/dorvakt.js');
  const command = [...unitNodeFlags(), built ? 'dist/cli/dorvakt.js' : 'bin/dorvakt.mjs'];

  /** One start, cut with SIGKILL once the door is ready (and, with `replaced`, once fresh plans landed). */
  async function once(replaced: boolean): Promise<{ readyMs: number; fromSaved: boolean }> {
    // As the unit runs it: systemd's CacheDirectory= (the config kept between starts) in the environment.
    const child = spawnService(config, { CACHE_DIRECTORY: cacheDir }, command);
    try {
      await child.waitForLog('door ready', 30_000);
      if (replaced) await child.waitForLog('schedule plans computed', 30_000);
      const ready = child.logs.find((l) => l.msg === 'door ready')!;
      return {
        readyMs: Number(ready.readyMs),
        fromSaved: child.count('doors start from the saved schedule plans') === 1,
      };
    } finally {
      await child.kill9();
    }
  }

  const cold: number[] = [];
  const warm: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
      const run = await once(false);
      if (run.fromSaved) throw new Error('a cold start found saved plans');
      cold.push(run.readyMs);
    }
    // The last cold start saved its plans before the door was ready.
    for (let i = 0; i < runs; i++) {
      const run = await once(true);
      if (!run.fromSaved) throw new Error('a warm start did not use the saved plans');
      warm.push(run.readyMs);
    }
  } finally {
    await pty.close();
    await broker.stop();
    dir.cleanup();
  }
  const row = (kind: string, values: number[]): Figures => ({
    start: kind,
    runs: `${values.length}, ${built ? 'dist (npm run build)' : 'source via tsx'}`,
    'door ready median (ms)': Math.round(median(values)),
    'min (ms)': Math.round(Math.min(...values)),
    'max (ms)': Math.round(Math.max(...values)),
  });
  return [row('cold (no saved plans: waits for the compiler)', cold), row('warm (saved plans)', warm)];
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await benchStart());
