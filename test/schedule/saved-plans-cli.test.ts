import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnService, writeFaultConfig } from '../faults/service-child.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('the real CLI after a power cut', { timeout: 120_000 }, () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir('saved-plans-cli-');
  });
  afterAll(async () => {
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('the first start waits for the compiler; after kill -9 the next opens from the saved plans, then replaces them', async () => {
    const config = writeFaultConfig({ dir: dir.path, readerPath: pty.devicePath, mqttUrl: broker.url });
    const first = spawnService(config);
    try {
      await first.waitForLog('door ready', 60_000);
      const msgs = first.logs.map((l) => l.msg);
      expect(msgs).toContain('no saved schedule plans for this config; waiting for the compiler');
      expect(first.count('doors start from the saved schedule plans')).toBe(0);
    } finally {
      await first.kill9();
    }

    const second = spawnService(config);
    try {
      await second.waitForLog('door ready', 60_000);
      await second.waitForLog('schedule plans computed', 60_000);
      const msgs = second.logs.map((l) => l.msg);
      const saved = msgs.indexOf('doors start from the saved schedule plans');
      const ready = msgs.indexOf('door ready');
      const computed = msgs.indexOf('schedule plans computed');
      expect(saved).toBeGreaterThanOrEqual(0);
      expect(saved).toBeLessThan(ready);
      // The compiler's answer came after the door was ready, and replaced the saved plans.
      expect(computed).toBeGreaterThan(ready);
      expect(second.logs[computed]!.reason).toBe('start: replacing the saved plans');
      // Staffless all day in this config: a door without plans would be closed.
      const ops = second.logs.find((l) => l.msg.startsWith('ops endpoints'))!.url as string;
      const state = (await (await fetch(`${ops}/api/state`)).json()) as { doors: { mode: string }[] };
      expect(state.doors[0]!.mode).toBe('staffless');
    } finally {
      await second.kill9();
    }
  });
});
