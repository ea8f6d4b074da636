import { describe, expect, it } from 'vitest';
import { allowedCpus, parseCpuList, usableTaskset, workerCpus } from '../../src/worker/cpus.ts';

describe('the worker CPUs', () => {
  it('reads the kernel CPU list format', () => {
    expect(parseCpuList('0-3,6')).toEqual([0, 1, 2, 3, 6]);
    expect(parseCpuList('1')).toEqual([1]);
    expect(parseCpuList('0,2-3\n')).toEqual([0, 2, 3]);
    expect(parseCpuList('')).toEqual([]);
    expect(parseCpuList('x,4')).toEqual([4]);
  });

  it('reads the CPUs this process may use from its status', () => {
    expect(allowedCpus('Name:\tnode\nCpus_allowed:\tf\nCpus_allowed_list:\t0-3\nMems_allowed:\t1\n')).toEqual(
      [0, 1, 2, 3],
    );
    expect(allowedCpus('Name:\tnode\n')).toEqual([]);
    expect(allowedCpus().length).toBeGreaterThan(0);
  });

  it('leaves the first CPU to the door, and pins nothing on a single CPU', () => {
    expect(workerCpus([0, 1])).toEqual([1]);
    expect(workerCpus([3, 1, 2])).toEqual([2, 3]);
    expect(workerCpus([2, 2, 5])).toEqual([5]);
    expect(workerCpus([0])).toBeNull();
    expect(workerCpus([])).toBeNull();
  });

  it('uses taskset only where it can set an affinity here', async () => {
    expect(await usableTaskset([0], ['/nonexistent/taskset'])).toEqual({ why: 'taskset not found' });
    expect(await usableTaskset([0])).toEqual({ path: expect.stringMatching(/taskset$/) });
    // A CPU the kernel does not have: refused, as a unit's system-call filter would refuse it.
    const refused = await usableTaskset([4095]);
    expect(refused).toEqual({ why: expect.any(String) });
  });
});
