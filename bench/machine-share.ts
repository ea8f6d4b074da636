import { readFileSync } from 'node:fs';
import { parseSchedstat } from '../src/door/cpu-share.ts';

/**
 * What this machine took from a row that no program on it can give back: the hypervisor's steal (time the
 * host ran others while this VM's CPUs wanted to run, /proc/stat) and the time a thread was ready but waited
 * for a CPU inside the machine (/proc/<pid>/schedstat). Read at a row's start and end.
 */
export interface MachineMark {
  steal: number;
  total: number;
  waitedNs: number;
}

function cpuTicks(): { steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { steal: ticks[7] ?? 0, total: ticks.reduce((sum, t) => sum + t, 0) };
}

/** The main thread's wait for a CPU so far (ns); 0 where schedstats are not kept. */
function waitedNs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return parseSchedstat(readFileSync(`/proc/${pid}/schedstat`, 'utf8'))?.waitedNs ?? 0;
  } catch {
    return 0;
  }
}

export const machineMark = (pid?: number): MachineMark => ({ ...cpuTicks(), waitedNs: waitedNs(pid) });

/** Steal as a share of all CPU time between two marks (%), and the thread's wait for a CPU (ms). */
export function machineShare(from: MachineMark, to: MachineMark): { stealPercent: number; waitedMs: number } {
  const total = to.total - from.total;
  return {
    stealPercent: total > 0 ? +((100 * (to.steal - from.steal)) / total).toFixed(1) : 0,
    waitedMs: +((to.waitedNs - from.waitedNs) / 1e6).toFixed(1),
  };
}
