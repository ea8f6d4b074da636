import { describe, expect, it } from 'vitest';
import { loadWhenQuiet } from '../../src/ops/quiet-load.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('loadWhenQuiet', () => {
  it('waits for a quiet spell after the start and after every swipe, then loads once', async () => {
    let lastSwipeAt = performance.now();
    let loads = 0;
    let loadedAt = 0;
    const loader = loadWhenQuiet(
      async () => {
        loads++;
        loadedAt = performance.now();
      },
      { lastSwipeAt: () => lastSwipeAt, quietMs: 60 },
    );
    // A patron swiping again and again keeps it waiting.
    for (let i = 0; i < 10; i++) {
      await sleep(20);
      lastSwipeAt = performance.now();
    }
    expect(loads).toBe(0);
    await sleep(200);
    expect(loads).toBe(1);
    expect(loadedAt - lastSwipeAt).toBeGreaterThanOrEqual(59);
    await sleep(100);
    expect(loads).toBe(1);
    loader.stop();
  });

  it('never loads once stopped', async () => {
    let loads = 0;
    const loader = loadWhenQuiet(
      async () => {
        loads++;
      },
      { lastSwipeAt: () => performance.now(), quietMs: 30 },
    );
    loader.stop();
    await sleep(100);
    expect(loads).toBe(0);
  });
});
