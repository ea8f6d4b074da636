/**
 * How much CPU time this machine charges for a fixed piece of work. A swipe's work barely changes from one swipe
 * to the next, so its CPU time should not either; on a VM whose host does not report steal, the time the host
 * takes from a running thread is charged to that thread as its own CPU time, and a door's slow swipes then look
 * like slow code. A fixed unit of work (a chain of HMACs, about what one swipe costs the door on a CPU), run after
 * an idle gap as a swipe comes, measured as the door measures its swipes: CPU time (getrusage) and the thread's
 * wait for a CPU (schedstat). Run as its own process by `cpuNoise`; prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseSchedstat } from '../src/door/cpu-share.ts';
import { withNice } from '../test/helpers/unit-flags.ts';
import { machineMark } from './machine-share.ts';
import { percentile } from './worker-load.ts';

const HMACS_PER_UNIT = 400;

export interface CpuNoise {
  units: number;
  cpuP50Ms: number;
  cpuP99Ms: number;
  cpuMaxMs: number;
  /** The slowest 1 % over the median: 1 when the machine charges the same work the same. */
  p99OverP50: number;
  waitedP99Ms: number;
}

/** Whether this machine's steal figure can be believed: a VM whose steal counter never moved does not report it. */
export function stealReporting(): 'not a VM' | 'reported' | 'not reported' {
  const vm = /^flags\s*:.*\bhypervisor\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  if (!vm) return 'not a VM';
  return machineMark().steal > 0 ? 'reported' : 'not reported';
}

/** Runs the units in a child at the given nice value, pinned to nothing (as the door). */
export async function cpuNoise(nice: number, units = 400, gapMs = 20): Promise<CpuNoise> {
  const [command, ...args] = withNice(nice, [
    process.execPath,
    'bin/run-ts.mjs',
    'bench/cpu-noise.ts',
    String(units),
    String(gapMs),
  ]);
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench/cpu-noise.ts exited ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as CpuNoise;
}

function unit(): string {
  let digest = 'dørvakt';
  for (let i = 0; i < HMACS_PER_UNIT; i++) digest = createHmac('sha256', 'key').update(digest).digest('hex');
  return digest;
}

async function run(units: number, gapMs: number): Promise<CpuNoise> {
  const waitedNs = () => parseSchedstat(readFileSync('/proc/thread-self/schedstat', 'utf8'))?.waitedNs ?? 0;
  for (let i = 0; i < 50; i++) unit();
  const cpu: number[] = [];
  const waited: number[] = [];
  for (let i = 0; i < units; i++) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    const waitedBefore = waitedNs();
    const used = process.cpuUsage();
    unit();
    const spent = process.cpuUsage(used);
    cpu.push((spent.user + spent.system) / 1000);
    waited.push((waitedNs() - waitedBefore) / 1e6);
  }
  cpu.sort((a, b) => a - b);
  waited.sort((a, b) => a - b);
  const p50 = percentile(cpu, 50);
  return {
    units,
    cpuP50Ms: +p50.toFixed(2),
    cpuP99Ms: +percentile(cpu, 99).toFixed(2),
    cpuMaxMs: +cpu.at(-1)!.toFixed(2),
    p99OverP50: +(percentile(cpu, 99) / p50).toFixed(2),
    waitedP99Ms: +percentile(waited, 99).toFixed(2),
  };
}

if (process.argv[1]?.endsWith('cpu-noise.ts')) {
  const [units, gap] = process.argv.slice(2).map(Number);
  process.stdout.write(`${JSON.stringify(await run(units ?? 400, gap ?? 20))}\n`);
}
