/**
 * Which CPUs the worker runs on. A priority alone does not keep a busy worker off the door's CPU: the
 * scheduler lets the running task finish its slice (up to a tick), so the door's syscalls wait behind the
 * worker's queries. The worker is therefore kept off one CPU, which the door then always finds free.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** A kernel CPU list (`0-3,6`) as numbers; an unreadable part is left out. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) continue;
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs this process may run on, from /proc/self/status (none when it cannot be read). */
export function allowedCpus(status = readStatus()): number[] {
  const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
  return line ? parseCpuList(line[1]!) : [];
}

function readStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}

/** All the door's CPUs but the first, which is left to the door; null when there is only one. */
export function workerCpus(allowed: number[]): number[] | null {
  const sorted = [...new Set(allowed)].sort((a, b) => a - b);
  return sorted.length >= 2 ? sorted.slice(1) : null;
}

const TASKSET_PATHS = ['/usr/bin/taskset', '/bin/taskset'];

/**
 * util-linux's taskset when it can set an affinity here (a unit whose system-call filter refuses
 * sched_setaffinity cannot), or the reason it cannot: the worker then runs unpinned.
 */
export async function usableTaskset(
  cpus: number[],
  paths: string[] = TASKSET_PATHS,
): Promise<{ path: string } | { why: string }> {
  const path = paths.find((p) => existsSync(p));
  if (!path) return { why: 'taskset not found' };
  return new Promise((resolve) => {
    execFile(path, ['-c', cpus.join(','), 'true'], { timeout: 5_000 }, (error, _out, stderr) =>
      resolve(error ? { why: (stderr.trim() || error.message).slice(0, 200) } : { path }),
    );
  });
}
