import { describe, expect, it } from 'vitest';
import {
  type HousekeepingOverlap,
  housekeepingExplainsMiss,
  housekeepingNames,
  housekeepingOf,
} from '../../bench/kernel-housekeeping.ts';

/** A stat line with the given comm and parent; the other fields zero. */
const stat = (pid: number, comm: string, ppid: number) =>
  `${pid} (${comm}) S ${ppid} ${Array.from({ length: 48 }, () => '0').join(' ')}`;

describe("the outside bench's kernel housekeeping", () => {
  it('knows a housekeeping kernel thread by its name and its parent, kthreadd', () => {
    expect(housekeepingOf(stat(78, 'kdamond.0', 2))).toEqual({ pid: 78, name: 'kdamond.0' });
    expect(housekeepingOf(stat(40, 'kswapd0', 2))).toEqual({ pid: 40, name: 'kswapd0' });
    expect(housekeepingOf(stat(41, 'kcompactd0', 2))).toEqual({ pid: 41, name: 'kcompactd0' });
    // A user process named so is not the kernel's, nor is another kernel thread.
    expect(housekeepingOf(stat(900, 'kdamond.0', 1))).toBeNull();
    expect(housekeepingOf(stat(15, 'rcu_preempt', 2))).toBeNull();
    // A comm with a space and a parenthesis does not shift the fields after it.
    expect(housekeepingOf(stat(901, 'kswapd) S 2 (x', 7))).toBeNull();
    expect(housekeepingOf('garbage')).toBeNull();
    expect(
      housekeepingNames([
        { pid: 1, name: 'kswapd0' },
        { pid: 2, name: 'kdamond.0' },
        { pid: 3, name: 'kdamond.1' },
      ]),
    ).toBe('kswapd, kdamond');
    expect(housekeepingNames([])).toBe('none');
  });

  it('puts a miss down to the kernel only where it could not be preempted, the runs were rare, and the rest met', () => {
    const row: HousekeepingOverlap = {
      swipes: 400,
      overlapped: 12,
      overTarget: 4,
      overTargetOverlapped: 3,
      otherP99Ms: 3.3,
    };
    expect(housekeepingExplainsMiss(row, 'none', 5)).toBe(true);
    expect(housekeepingExplainsMiss(row, 'voluntary', 5)).toBe(true);
    // A preemptible kernel lets the door in: the miss is the door's.
    expect(housekeepingExplainsMiss(row, 'full', 5)).toBe(false);
    expect(housekeepingExplainsMiss(row, 'unknown', 5)).toBe(false);
    // No slow swipe overlapped a run.
    expect(housekeepingExplainsMiss({ ...row, overTargetOverlapped: 0 }, 'none', 5)).toBe(false);
    // The swipes left over miss too.
    expect(housekeepingExplainsMiss({ ...row, otherP99Ms: 5.01 }, 'none', 5)).toBe(false);
    // Runs overlapped more than a tenth of the swipes: too many left out to judge the rest.
    expect(housekeepingExplainsMiss({ ...row, overlapped: 40 }, 'none', 5)).toBe(true);
    expect(housekeepingExplainsMiss({ ...row, overlapped: 41 }, 'none', 5)).toBe(false);
  });
});
