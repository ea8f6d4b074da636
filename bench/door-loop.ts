import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp } from '../src/app.ts';
import { startSip2Simulator } from '../src/ils/simulator.ts';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log/logger.ts';
import { LocalPatronSource } from '../src/patrons/local-registry.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { freePort, waitFor } from '../test/helpers/ports.ts';
import { createPtyPair } from '../test/helpers/pty.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { childrenOf } from '../test/helpers/processes.ts';
import { unitEnvironment, unitNodeFlags } from '../test/helpers/unit-flags.ts';

export interface Figures {
  [name: string]: string | number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function configText(
  dir: string,
  readerPath: string,
  mqttUrl: string,
  opsPort: number,
  sip2Port?: number,
): string {
  const ils = sip2Port
    ? `patrons: { source: sip2 }
ils: { host: 127.0.0.1, port: ${sip2Port}, institution: DEMO, cache_seconds: 0 }`
    : '';
  return `${ils}
site: { id: bench, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${readerPath}, profile: line }
    hardware: { driver: sim, pulse_ms: 100, sim: { open_after_ms: 50, close_after_ms: 10, patron_on_grant: false } }
store: { path: ${join(dir, 'store.sqlite')} }
mqtt: { url: "${mqttUrl}" }
ops: { port: ${opsPort} }
web: { enabled: false }
log: { level: warn }
`;
}

/**
 * Swipe → relay: from the last byte written to the pty to the door driver's relay write. With `liveSip2`
 * every swipe asks the SIP2 simulator on loopback (cache off); otherwise the local registry answers.
 */
export async function benchSwipeToRelay(swipes = 1000, liveSip2 = false): Promise<Figures> {
  const broker = await startMosquitto();
  const pty = await createPtyPair();
  const sip2 = liveSip2
    ? await startSip2Simulator({
        patrons: [
          {
            card: '12345678',
            pin: '1234',
            name: 'Bench',
            category: 'V',
            birthDate: '19800101',
            expires: '20991231',
          },
        ],
      })
    : null;
  const dir = tempDir('bench-');
  writeFileSync(join(dir.path, 'key'), 'bench-site-key-0123456789abcdef');
  const config = parseConfig(configText(dir.path, pty.devicePath, broker.url, await freePort(), sip2?.port));
  // Shorter than the schema allows, so 1,000 swipes do not take minutes; the latency does not depend on it.
  config.doors[0]!.hardware.pulse_ms = 3;
  const app = await startApp({ config, log: createLogger('warn') });
  const registry = new LocalPatronSource(app.db, app.hashCard, () => '2026-01-01');
  registry.put('12345678', { category: 'V', birthYear: 1980 });
  for (const kind of ['agreement', 'camera'] as const)
    app.consents.sign(app.hashCard('12345678'), kind, '1', Date.now(), 'bench');
  await waitFor(() => app.doors[0]!.reader.online, 5000, 'reader');

  const door = app.doors[0]!.door;
  let unlockedAt: bigint | null = null;
  let relocked = true;
  door.onRelayWrite((at, unlocked) => {
    if (unlocked) unlockedAt = at;
    else relocked = true;
  });
  const samples: number[] = [];
  for (let i = 0; i < swipes + 20; i++) {
    await waitFor(() => relocked, 2000, 'relock');
    relocked = false;
    unlockedAt = null;
    pty.write('12345678\r\n');
    const written = process.hrtime.bigint();
    const at = (await waitFor(() => unlockedAt, 2000, 'relay write')) as bigint;
    if (i >= 20) samples.push(Number(at - written) / 1e6); // first 20 warm up the JIT
  }
  samples.sort((a, b) => a - b);
  await app.stop();
  await sip2?.close();
  await pty.close();
  await broker.stop();
  dir.cleanup();
  return {
    'patron source': liveSip2 ? 'live SIP2 check on loopback (cache off)' : 'local registry (SQLite)',
    'swipe→relay p50 (ms)': +percentile(samples, 50).toFixed(3),
    'swipe→relay p99 (ms)': +percentile(samples, 99).toFixed(3),
    'swipe→relay max (ms)': +samples.at(-1)!.toFixed(3),
    'swipes measured': samples.length,
  };
}

function memoryOf(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}

export interface StartOptions {
  /** Node flags before the script; default: the systemd unit's (as shipped). */
  nodeFlags?: string[];
  /** Seconds of idle sampled after door ready (one sample a second). */
  idleSeconds?: number;
  /** Turn the dashboard on (it is off in the door-loop figure the target is about). */
  web?: boolean;
}

/**
 * Starts the real CLI in a child process, as systemd does: time to "door ready", then RSS sampled every
 * second while idle. V8 gives memory back only after a few idle seconds, so "settled" is the median of
 * the last 10 samples; the figure 5 s after ready is printed as well.
 */
export async function benchStartAndIdle(options: StartOptions = {}): Promise<Figures> {
  const nodeFlags = options.nodeFlags ?? unitNodeFlags();
  const idleSeconds = options.idleSeconds ?? 30;
  const broker = await startMosquitto();
  const pty = await createPtyPair();
  const dir = tempDir('bench-');
  writeFileSync(join(dir.path, 'key'), 'bench-site-key-0123456789abcdef');
  const opsPort = await freePort();
  const file = join(dir.path, 'config.yaml');
  let text = configText(dir.path, pty.devicePath, broker.url, opsPort).replace('level: warn', 'level: info');
  if (options.web) text = text.replace('web: { enabled: false }', `web: { port: ${await freePort()} }`);
  writeFileSync(file, text);
  const built = existsSync('dist/cli/dorvakt.js');
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeFlags, built ? 'dist/cli/dorvakt.js' : 'bin/dorvakt.mjs', '--config', file],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      // The unit's environment with its flags; none without them (the "without the flags" row).
      env: { ...process.env, ...(options.nodeFlags?.length === 0 ? {} : unitEnvironment()) },
    },
  );
  let readyMs = 0;
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (!readyMs && out.includes('"door ready"')) readyMs = performance.now() - t0;
  });
  await waitFor(() => readyMs > 0, 20_000, 'door ready');
  const samples: { rss: number; anon: number }[] = [];
  for (let s = 0; s < idleSeconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    samples.push(memoryOf(child.pid!));
  }
  const health = (await (await fetch(`http://127.0.0.1:${opsPort}/healthz`)).json()) as { status: string };
  // The worker process (dashboard, statistics, jobs) is the door process's child: reported on its own.
  const workers = childrenOf(child.pid!).map((pid) => memoryOf(pid).rss);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await pty.close();
  await broker.stop();
  dir.cleanup();
  const settled = (pick: (m: { rss: number; anon: number }) => number) =>
    +percentile(
      samples
        .slice(-10)
        .map(pick)
        .sort((a, b) => a - b),
      50,
    ).toFixed(1);
  return {
    'node flags': nodeFlags.join(' ') || '(none)',
    runs: `${built ? 'dist (npm run build)' : 'source via tsx'}, dashboard ${options.web ? 'on' : 'off'}`,
    'start→door ready (ms, spawn to log line)': Math.round(readyMs),
    'RSS 5 s after ready (MB)': +(samples[4]?.rss ?? 0).toFixed(1),
    [`idle RSS settled (MB, median of ${idleSeconds - 10}–${idleSeconds} s)`]: settled((m) => m.rss),
    '  of which private (RssAnon, MB)': settled((m) => m.anon),
    'healthz at idle': JSON.stringify(health.status),
    'worker process RSS (MB)': workers.map((mb) => mb.toFixed(1)).join(', ') || '(none)',
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchSwipeToRelay(Number(process.env.SWIPES ?? 1000)));
  console.table(await benchStartAndIdle());
}
