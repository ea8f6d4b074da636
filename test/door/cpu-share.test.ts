import { spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuShareMs, openCpuClock, parseSchedstat } from '../../src/door/cpu-share.ts';
import { allowedCpus } from '../../src/worker/cpus.ts';

const burn = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // on a CPU, or waiting for one when another task shares it
  }
};

describe('the CPU share of a swipe', () => {
  it('reads the wait for a CPU from a schedstat line, and nothing from anything else', () => {
    expect(parseSchedstat('116232220 665156 30\n')).toEqual({
      ranNs: 116_232_220,
      waitedNs: 665_156,
      slices: 30,
    });
    expect(parseSchedstat('')).toBeUndefined();
    expect(parseSchedstat('12 x 3')).toBeUndefined();
    expect(parseSchedstat('12 34')).toBeUndefined();
  });

  it('counts the CPU time spent between two marks, and a sleep as a switch', async () => {
    const clock = openCpuClock();
    try {
      const from = clock.mark();
      burn(30);
      const share = cpuShareMs(from, clock.mark());
      expect(share.ran).toBeGreaterThanOrEqual(10); // less than the burn where the machine takes its share
      expect(share.ran).toBeLessThan(200);
      const beforeSleep = clock.mark();
      await new Promise((r) => setTimeout(r, 100));
      const slept = cpuShareMs(beforeSleep, clock.mark());
      expect(slept.switches).toBeGreaterThanOrEqual(1);
      expect(slept.blocks).toBeGreaterThanOrEqual(1);
      // The process's other threads may run meanwhile (the suite's own work): well under the sleep, not zero.
      expect(slept.ran).toBeLessThan(50);
    } finally {
      clock.close();
    }
  });

  it('without a schedstat file it gives the CPU time alone', () => {
    const clock = openCpuClock('/nonexistent/schedstat');
    const from = clock.mark();
    burn(5);
    const share = cpuShareMs(from, clock.mark());
    expect(share).not.toHaveProperty('waited');
    expect(share.ran).toBeGreaterThan(0);
    clock.close();
  });

  it('counts the time the thread was ready while another task held its only CPU', async () => {
    // This thread and a spinning shell on one CPU: each gets about half of it.
    const tid = readlinkSync('/proc/thread-self').split('/').at(-1)!;
    const cpus = allowedCpus();
    const cpu = String(cpus.at(-1));
    expect(spawnSync('taskset', ['-p', '-c', cpu, tid]).status).toBe(0);
    const hog = spawn('taskset', ['-c', cpu, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
    const clock = openCpuClock();
    try {
      await new Promise((r) => setTimeout(r, 200));
      const from = clock.mark();
      burn(200);
      const share = cpuShareMs(from, clock.mark());
      expect(share.waited).toBeGreaterThanOrEqual(30);
      // Taken off its CPU for the shell's turns, and back each time; preempted, not blocked.
      expect(share.switches).toBeGreaterThanOrEqual(5);
      expect(share.blocks).toBeLessThan(share.switches!);
      expect(share.ran + share.waited!).toBeLessThanOrEqual(260);
    } finally {
      hog.kill('SIGKILL');
      clock.close();
      spawnSync('taskset', ['-p', '-c', cpus.join(','), tid]);
    }
  });
});
