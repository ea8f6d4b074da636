/**
 * The kernel's own housekeeping threads that can hold a CPU for milliseconds: DAMON's kdamond (a host's
 * proactive memory reclaim inside a VM), kswapd and kcompactd. On a kernel built without preemption
 * (`preempt=none`) a task that wakes on their CPU waits until they yield, whatever its nice, so a swipe that
 * wakes the door there waits too. The bench samples their run time around each swipe to tell which slow
 * swipes overlapped one of their runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseSchedstat } from '../src/door/cpu-share.ts';
import { parseProcStat } from '../test/helpers/processes.ts';

const HOUSEKEEPING = /^(kdamond|kswapd|kcompactd)/;

export interface HousekeepingThread {
  pid: number;
  name: string;
}

/** A /proc file's text, or '' once it is gone (a thread that ended). */
const readOr = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** A /proc/PID/stat line's thread when it is a kernel thread (a child of kthreadd, pid 2) doing housekeeping. */
export function housekeepingOf(stat: string): HousekeepingThread | null {
  const parsed = parseProcStat(stat);
  return parsed && parsed.ppid === 2 && HOUSEKEEPING.test(parsed.comm)
    ? { pid: parsed.pid, name: parsed.comm }
    : null;
}

/** The machine's kernel housekeeping threads now. */
export function housekeepingThreads(): HousekeepingThread[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => housekeepingOf(readOr(`/proc/${entry}/stat`)))
    .filter((thread): thread is HousekeepingThread => thread !== null);
}

/** A row's swipes as kernel housekeeping overlapped them. */
export interface HousekeepingOverlap {
  swipes: number;
  /** Swipes during which a housekeeping thread ran. */
  overlapped: number;
  overTarget: number;
  overTargetOverlapped: number;
  /** p99 (ms) of the swipes no housekeeping run overlapped. */
  otherP99Ms: number;
}

// The most of a row's swipes that housekeeping may overlap for its misses to be put down to it: leaving out a
// large share of the swipes would leave too little to judge.
const SHARE_BOUND = 0.1;

/**
 * Whether a row's miss is the kernel's: on a kernel that does not preempt its own code, some swipes over the
 * target overlapped a housekeeping run, such runs are rare, and the swipes they did not overlap met the target.
 */
export function housekeepingExplainsMiss(
  overlap: HousekeepingOverlap,
  preemption: ReturnType<typeof kernelPreemption>,
  targetMs: number,
): boolean {
  return (
    (preemption === 'none' || preemption === 'voluntary') &&
    overlap.overTargetOverlapped > 0 &&
    overlap.overlapped <= overlap.swipes * SHARE_BOUND &&
    overlap.otherP99Ms <= targetMs
  );
}

/** Their run time so far (ns), summed; a thread that has gone counts 0. */
export function housekeepingRunNs(threads: HousekeepingThread[]): number {
  let sum = 0;
  for (const { pid } of threads) sum += parseSchedstat(readOr(`/proc/${pid}/schedstat`))?.ranNs ?? 0;
  return sum;
}

/**
 * How the running kernel preempts kernel code: the boot's `preempt=` where given, else the build's default
 * (a PREEMPT_DYNAMIC kernel starts in the mode its config names). 'unknown' without /proc/config.gz.
 */
export function kernelPreemption(): 'none' | 'voluntary' | 'full' | 'lazy' | 'rt' | 'unknown' {
  const boot = readOr('/proc/cmdline').match(/(?:^|\s)preempt=(none|voluntary|full|lazy)\b/);
  if (boot) return boot[1] as 'none' | 'voluntary' | 'full' | 'lazy';
  let config: string;
  try {
    config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    return 'unknown';
  }
  const set = (key: string) => new RegExp(`^CONFIG_${key}=y$`, 'm').test(config);
  if (set('PREEMPT_RT')) return 'rt';
  if (set('PREEMPT_NONE')) return 'none';
  if (set('PREEMPT_VOLUNTARY')) return 'voluntary';
  if (set('PREEMPT_LAZY')) return 'lazy';
  if (set('PREEMPT')) return 'full';
  return 'unknown';
}

/** Their names without per-node numbers, for a figure's label ('none' when there are none). */
export function housekeepingNames(threads: HousekeepingThread[]): string {
  const names = [...new Set(threads.map((t) => t.name.replace(/[.\d]+$/, '')))];
  return names.length === 0 ? 'none' : names.join(', ');
}
