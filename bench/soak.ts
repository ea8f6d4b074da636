/**
 * Soak: the real CLI (sim door, pty reader, Mosquitto) through an hour of library traffic compressed
 * into SOAK_SECONDS (default 60 s, so 60× faster), between two idle windows. Prints idle CPU, CPU under
 * traffic, and memory (RSS, V8 heap) at start, after the hour and at the end, so a leak shows as growth.
 * Timers inside the service (schedule tick, MQTT keepalive) run in real time, not compressed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { freePort, waitFor } from '../test/helpers/ports.ts';
import { createPtyPair } from '../test/helpers/pty.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { unitNodeFlags } from '../test/helpers/unit-flags.ts';
import { seedPatrons, spawnService, writeFaultConfig } from '../test/faults/service-child.ts';
import type { Figures } from './door-loop.ts';

const CLOCK_TICKS = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime + stime
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return +(kb / 1024).toFixed(1);
}

async function heapMb(opsUrl: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const bytes = Number(/^dorvakt_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  return +(bytes / 1024 / 1024).toFixed(1);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchSoak(
  options: { seconds?: number; idleSeconds?: number; swipesPerHour?: number } = {},
): Promise<Figures> {
  const seconds = options.seconds ?? Number(process.env.SOAK_SECONDS ?? 60);
  const idleSeconds = options.idleSeconds ?? Number(process.env.SOAK_IDLE_SECONDS ?? 20);
  // A busy staffless hour at a branch library: a few swipes a minute, most of them valid.
  const swipesPerHour = options.swipesPerHour ?? 300;
  const [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
  const dir = tempDir('soak-');
  const opsPort = await freePort();
  const valid = Array.from({ length: 200 }, (_, i) => String(20_000_001 + i));
  const config = writeFaultConfig({
    dir: dir.path,
    readerPath: pty.devicePath,
    mqttUrl: broker.url,
    pulseMs: 100,
  });
  const text = readFileSync(config, 'utf8')
    .replace('ops: { port: 0 }', `ops: { port: ${opsPort} }`)
    .replace('level: info', 'level: warn');
  (await import('node:fs')).writeFileSync(config, text);
  seedPatrons(join(dir.path, 'store.sqlite'), valid);
  // As systemd runs it: dist/ with the unit's Node flags (the source through tsx when not built).
  const built = existsSync('dist/cli/dorvakt.js');
  const child = spawnService(config, {}, built ? [...unitNodeFlags(), 'dist/cli/dorvakt.js'] : undefined);
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  try {
    await waitFor(
      async () => (await fetch(`${opsUrl}/healthz`).catch(() => null))?.ok === true,
      30_000,
      'service up',
    );
    await sleep(3000); // past start-up work (JIT, first connections)
    const pid = child.proc.pid!;
    const rssStart = rssMb(pid);
    const heapStart = await heapMb(opsUrl);

    let cpu0 = cpuSeconds(pid);
    await sleep(idleSeconds * 1000);
    const idleCpu = (cpuSeconds(pid) - cpu0) / idleSeconds;

    // The hour, compressed: swipes at random moments, 70 % registered cards, 30 % unknown.
    const swipes = swipesPerHour;
    const times = Array.from({ length: swipes }, () => Math.random() * seconds * 1000).sort((a, b) => a - b);
    let maxRss = rssStart;
    cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    for (const at of times) {
      const wait = at - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
      const card =
        Math.random() < 0.7
          ? valid[Math.floor(Math.random() * valid.length)]!
          : `9${Math.floor(Math.random() * 1e7)}`;
      pty.write(`${card}\r\n`);
      maxRss = Math.max(maxRss, rssMb(pid));
    }
    await sleep(Math.max(0, seconds * 1000 - (performance.now() - t0)));
    const trafficCpu = (cpuSeconds(pid) - cpu0) / seconds;
    const rssAfterHour = rssMb(pid);
    const heapAfterHour = await heapMb(opsUrl);

    cpu0 = cpuSeconds(pid);
    await sleep(idleSeconds * 1000);
    const idleCpuAfter = (cpuSeconds(pid) - cpu0) / idleSeconds;
    const rssEnd = rssMb(pid);
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
    const decided = [...metrics.matchAll(/^dorvakt_swipes_total\{[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    return {
      runs: built
        ? `dist, ${unitNodeFlags().join(' ')}`
        : 'source via tsx (npm run build for the shipped figure)',
      'simulated hour (s real, speed-up)': `${seconds} s, ${Math.round(3600 / seconds)}×`,
      'swipes in the hour (sent / decided)': `${swipes} / ${decided}`,
      [`idle CPU before (% of one core, ${idleSeconds} s)`]: +(idleCpu * 100).toFixed(2),
      'CPU during traffic (% of one core)': +(trafficCpu * 100).toFixed(2),
      'CPU per swipe (ms, traffic minus idle)': +(
        (((trafficCpu - idleCpu) * seconds) / swipes) *
        1000
      ).toFixed(2),
      [`idle CPU after (% of one core, ${idleSeconds} s)`]: +(idleCpuAfter * 100).toFixed(2),
      'RSS start / after hour / end / max (MB)': `${rssStart} / ${rssAfterHour} / ${rssEnd} / ${maxRss}`,
      'V8 heap used start / after hour (MB)': `${heapStart} / ${heapAfterHour}`,
    };
  } finally {
    await child.stop();
    await pty.close();
    await broker.stop();
    dir.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchSoak());
}
