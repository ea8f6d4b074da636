import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Where a swipe's wall time went: how long the process ran on a CPU, how long its main thread was ready but
 * waiting for one (the kernel's run_delay), how often that thread left its CPU, and how often a thread of the
 * process blocked. What is left of the wait was spent blocked (`blocks` > 0) or, with none, taken from the
 * machine while the thread ran (a hypervisor's steal, which paravirtual time accounting leaves out of the CPU
 * time). For the log only: two cheap reads per swipe, none of it in the decision.
 */
export interface CpuMark {
  /** The process's CPU time (all threads), µs. */
  cpuUs: number;
  /** The process's voluntary context switches (all threads): each one a thread that blocked. */
  blocks: number;
  /** The main thread's time ready but waiting for a CPU, ns; undefined where the kernel keeps no schedstat. */
  waitedNs: number | undefined;
  /** How many times the main thread has been put on a CPU. */
  slices: number | undefined;
}

export interface CpuShareMs {
  /** On a CPU (all the process's threads). */
  ran: number;
  /** Ready but waiting for a CPU (the main thread); absent where the kernel does not say. */
  waited?: number;
  /** Times the main thread left its CPU and came back (preempted or blocked); absent as `waited`. */
  switches?: number;
  /** Times a thread of the process blocked (a voluntary switch). None: nothing blocked, so what the door
   * neither ran nor waited for was taken from the machine. */
  blocks: number;
}

export interface CpuClock {
  mark(): CpuMark;
  close(): void;
}

/** `ran waited slices` as /proc/<tid>/schedstat prints them, or undefined. */
export function parseSchedstat(
  text: string,
): { ranNs: number; waitedNs: number; slices: number } | undefined {
  const [ran, waited, slices] = text.trim().split(/\s+/).map(Number);
  return Number.isFinite(ran) && Number.isFinite(waited) && Number.isFinite(slices)
    ? { ranNs: ran!, waitedNs: waited!, slices: slices! }
    : undefined;
}

/** A clock for the calling thread (the door's event loop); its schedstat file stays open. */
export function openCpuClock(schedstat = '/proc/thread-self/schedstat'): CpuClock {
  let fd: number | undefined;
  try {
    fd = openSync(schedstat, 'r');
  } catch {
    fd = undefined; // no schedstat (another kernel, or CONFIG_SCHED_INFO off): `ran` alone
  }
  const buf = Buffer.alloc(96);
  const sched = () => {
    if (fd === undefined) return undefined;
    try {
      // From offset 0 each time: the kernel prints the file afresh.
      return parseSchedstat(buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0)));
    } catch {
      return undefined;
    }
  };
  return {
    mark: () => {
      const usage = process.resourceUsage();
      const thread = sched();
      return {
        cpuUs: usage.userCPUTime + usage.systemCPUTime,
        blocks: usage.voluntaryContextSwitches,
        waitedNs: thread?.waitedNs,
        slices: thread?.slices,
      };
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

const round2 = (ms: number) => Math.round(ms * 100) / 100;

export function cpuShareMs(from: CpuMark, to: CpuMark): CpuShareMs {
  return {
    ran: round2((to.cpuUs - from.cpuUs) / 1000),
    ...(from.waitedNs === undefined || to.waitedNs === undefined
      ? {}
      : {
          waited: round2((to.waitedNs - from.waitedNs) / 1e6),
          switches: (to.slices ?? 0) - (from.slices ?? 0),
        }),
    blocks: to.blocks - from.blocks,
  };
}
