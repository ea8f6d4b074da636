/**
 * OSDP: poll exchange and card → swipe latency at 9600 and 115200 baud, with and without the secure
 * channel, and the control panel's CPU while it polls an idle reader. The reader is simulated in its own
 * process on a socat pty; it answers after the time the bytes would take on an RS-485 wire.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSecret } from '../src/config/load.ts';
import { createLogger } from '../src/log/logger.ts';
import { OsdpCardReader } from '../src/reader/osdp/reader.ts';
import { waitFor } from '../test/helpers/ports.ts';
import { createPtyPair } from '../test/helpers/pty.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { unitNodeFlags } from '../test/helpers/unit-flags.ts';
import { osdpReaderConfig } from '../test/reader/osdp/fixture.ts';
import type { Figures } from './door-loop.ts';

const KEY = '00112233445566778899aabbccddeeff';
const CARDS = Number(process.env.OSDP_CARDS ?? 100);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function setup(baud: number, secure: boolean) {
  const pty = await createPtyPair();
  const dir = tempDir('osdp-bench-');
  const keyFile = join(dir.path, 'reader.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  const child: ChildProcess = fork(
    'bin/run-ts.mjs',
    ['bench/osdp-reader-child.ts', pty.hostPath, String(baud), secure ? KEY : ''],
    {
      execArgv: unitNodeFlags(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  const config = osdpReaderConfig(
    pty.devicePath,
    secure ? { security: 'key', scbk: { file: keyFile } } : { security: 'plaintext' },
    { baud_rate: baud },
  );
  const reader = new OsdpCardReader(config, createLogger('warn'), 'front', {
    language: 'en',
    readSecret: (r) => readSecret(r),
  });
  reader.start();
  await waitFor(() => reader.online && (!secure || reader.pd.secure), 10_000, 'reader ready');
  await waitFor(() => (reader.bus?.counters.exchanges ?? 0) > 5, 10_000, 'polling');
  return {
    reader,
    child,
    async close() {
      await reader.stop();
      child.send({ stop: true });
      await new Promise((r) => child.once('exit', r));
      await pty.close();
      dir.cleanup();
    },
  };
}

/** One exchange (command out → reply taken), timed around the link the bus drives. */
function timeExchanges(reader: OsdpCardReader): number[] {
  const link = reader.pd;
  const times: number[] = [];
  let sentAt = 0;
  const next = link.next.bind(link);
  const reply = link.reply.bind(link);
  link.next = (now) => {
    const bytes = next(now);
    if (bytes) sentAt = performance.now();
    return bytes;
  };
  link.reply = (packet, now) => {
    const ours = reply(packet, now);
    if (ours && sentAt) times.push(performance.now() - sentAt);
    return ours;
  };
  return times;
}

async function measure(baud: number, secure: boolean): Promise<Figures> {
  const s = await setup(baud, secure);
  try {
    const exchanges = timeExchanges(s.reader);
    await new Promise((r) => setTimeout(r, 2000));
    const cycle = [...exchanges].sort((a, b) => a - b);
    const latencies: number[] = [];
    for (let i = 0; i < CARDS; i++) {
      // Cards come at random moments of the poll cycle.
      await new Promise((r) => setTimeout(r, Math.random() * 60));
      const swiped = new Promise<void>((resolve) => s.reader.once('swipe', () => resolve()));
      const t0 = performance.now();
      s.child.send({ present: (0x1000000000 + i).toString(16).toUpperCase() });
      await swiped;
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    return {
      baud,
      channel: secure ? 'secure' : 'plaintext',
      'poll exchange p50 ms': +percentile(cycle, 50).toFixed(2),
      'poll exchange p99 ms': +percentile(cycle, 99).toFixed(2),
      'card → swipe p50 ms': +percentile(latencies, 50).toFixed(1),
      'card → swipe p99 ms': +percentile(latencies, 99).toFixed(1),
      cards: CARDS,
    };
  } finally {
    await s.close();
  }
}

async function idleCpu(baud: number, secure: boolean, seconds = 10): Promise<Figures> {
  const s = await setup(baud, secure);
  try {
    const before = process.cpuUsage();
    const polls = s.reader.bus!.counters.exchanges;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const used = process.cpuUsage(before);
    const wall = performance.now() - t0;
    return {
      baud,
      channel: secure ? 'secure' : 'plaintext',
      'polls/s': +(((s.reader.bus!.counters.exchanges - polls) * 1000) / wall).toFixed(1),
      'CPU % of one core': +(((used.user + used.system) / 1000 / wall) * 100).toFixed(2),
      seconds,
    };
  } finally {
    await s.close();
  }
}

export async function benchOsdp(): Promise<Figures[]> {
  const latency: Figures[] = [];
  for (const baud of [9600, 115200])
    for (const secure of [false, true]) latency.push(await measure(baud, secure));
  const idle = [await idleCpu(9600, true), await idleCpu(115200, true), await idleCpu(115200, false)];
  return [latency as unknown as Figures, idle as unknown as Figures];
}
