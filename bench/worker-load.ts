/** What the door-under-load benches share: the loads in their own process, and the figures they print. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { waitFor } from '../test/helpers/ports.ts';
import { allowedCpus, workerCpus } from '../src/worker/cpus.ts';
import type { Figures } from './door-loop.ts';

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** One line of /proc/PID/status in MB (VmRSS, RssAnon, RssFile …); 0 once the process is gone. */
export const statusMb = (pid: number | undefined, field = 'VmRSS') => {
  if (!pid) return 0;
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Math.round((Number(kb ?? 0) / 1024) * 10) / 10;
  } catch {
    return 0;
  }
};

export const rssMb = (pid: number | undefined) => statusMb(pid);

/**
 * The load in its own process (bench/load-client.ts), at the lowest priority and on the worker's CPUs (all but
 * the first, src/worker/cpus.ts): it stands for browsers on other machines, so its parsing should not take the
 * door's core (the worker's work does). A low priority alone did not keep it off: the scheduler lets a running
 * task finish its slice. On one CPU it runs unpinned.
 */
export async function startLoad(mode: 'stats' | 'sse', base: string, cookie: string, paths: string[]) {
  const client = [
    'nice',
    '-n',
    '19',
    process.execPath,
    'bin/run-ts.mjs',
    'bench/load-client.ts',
    mode,
    base,
    cookie,
    ...paths,
  ];
  const cpus = workerCpus(allowedCpus());
  const command = cpus ? ['taskset', '-c', cpus.join(','), ...client] : client;
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  await waitFor(() => out.includes('started'), 120_000, `the ${mode} load`);
  return {
    async stop(): Promise<{ requests: number; failures: number; events: number }> {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(out.trim().split('\n').at(-1)!);
    },
  };
}

/** Waits until the worker answers at once again (requests a stopped load left in flight are done). */
export async function workerIdle(base: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const t = performance.now();
    await fetch(`${base}/login`)
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
    if (performance.now() - t < 100) return;
  }
}

export function swipeFigures(load: string, samples: number[], extra: Figures = {}): Figures {
  return {
    load,
    'swipe→relay p50 (ms)': +percentile(samples, 50).toFixed(2),
    'swipe→relay p99 (ms)': +percentile(samples, 99).toFixed(2),
    'swipe→relay max (ms)': +samples.at(-1)!.toFixed(2),
    swipes: samples.length,
    ...extra,
  };
}
