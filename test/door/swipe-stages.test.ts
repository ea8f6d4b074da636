import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { AccessGate, SwipeResult } from '../../src/access/gate.ts';
import { decideSwipesInOrder, type RuntimeDoor } from '../../src/door/runtime.ts';
import { openCpuClock } from '../../src/door/cpu-share.ts';
import { swipeStagesMs } from '../../src/door/swipe-stages.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { CardReader } from '../../src/reader/reader.ts';

const at = (ms: number) => BigInt(Math.round(ms * 1e6));

describe('a swipe split by stage', () => {
  const marks = { facts: at(1.25), patron: at(3.5), decided: at(3.6), recorded: at(4.1) };

  it('gives each stage its own span, and the spans add up to frame → relay', () => {
    const stages = swipeStagesMs(at(0), at(0.5), marks, at(4.4));
    expect(stages).toEqual({ queue: 0.5, facts: 0.75, patron: 2.25, decide: 0.1, record: 0.5, relay: 0.3 });
    const sum = Object.values(stages).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(4.4, 6);
  });

  it('has no relay stage when the relay did not move', () => {
    expect(swipeStagesMs(at(0), at(0.5), marks, undefined)).not.toHaveProperty('relay');
  });
});

/** A door whose relay writes the test reports, a reader it emits swipes on, and the log lines captured. */
function swipeRig() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  let relayListener: ((at: bigint, unlocked: boolean) => void) | undefined;
  const runtime = {
    id: 'main',
    door: { onRelayWrite: (l: typeof relayListener) => (relayListener = l) },
    deny: () => {},
  } as unknown as RuntimeDoor;
  const reader = new EventEmitter() as CardReader;
  const relayWritten = (at: bigint, unlocked: boolean) => relayListener?.(at, unlocked);
  return { lines, log, runtime, reader, relayWritten };
}

describe('the swipe log line', () => {
  it('carries the stages, they add up to its relay_ms, and the relay write on the monotonic clock', async () => {
    const { lines, log, runtime, reader, relayWritten } = swipeRig();
    let relayAt = 0n;
    const gate = {
      handle: async (): Promise<SwipeResult> => {
        const facts = process.hrtime.bigint();
        await new Promise((r) => setTimeout(r, 5));
        const patron = process.hrtime.bigint();
        const recorded = process.hrtime.bigint();
        relayAt = process.hrtime.bigint();
        relayWritten(relayAt, true);
        return {
          decision: { allow: true, reason: 'allow' },
          entryId: 1,
          message: '',
          marks: { facts, patron, decided: patron, recorded },
        };
      },
    } as unknown as AccessGate;
    decideSwipesInOrder(runtime, reader, { gate, log, observeDecision: () => {} });
    reader.emit('swipe', { card: '1', receivedAt: process.hrtime.bigint() });
    await vi.waitFor(() => expect(lines.some((l) => l.outcome === 'granted')).toBe(true));
    const line = lines.find((l) => l.outcome === 'granted')!;
    const stages = line.stages_ms as Record<string, number>;
    expect(stages.patron).toBeGreaterThanOrEqual(4);
    const sum = Object.values(stages).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - (line.relay_ms as number))).toBeLessThanOrEqual(0.06);
    // The relay write on the monotonic clock, to the microsecond: the outside bench times from its card write.
    expect(Math.abs((line.relay_mono_ms as number) - Number(relayAt) / 1e6)).toBeLessThanOrEqual(0.001);
  });

  it('carries the CPU time and the wait for a CPU from the frame to the relay write, not after it', async () => {
    const { lines, log, runtime, reader, relayWritten } = swipeRig();
    const burn = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // the swipe's own work
      }
    };
    const gate = {
      handle: async (): Promise<SwipeResult> => {
        burn(20);
        relayWritten(process.hrtime.bigint(), true);
        burn(40); // after the relay: not the patron's wait
        return { decision: { allow: true, reason: 'allow' }, entryId: 1, message: '' };
      },
    } as unknown as AccessGate;
    const cpu = openCpuClock();
    decideSwipesInOrder(runtime, reader, { gate, log, observeDecision: () => {}, cpu });
    reader.emit('swipe', { card: '1', receivedAt: process.hrtime.bigint() });
    await vi.waitFor(() => expect(lines.some((l) => l.outcome === 'granted')).toBe(true));
    cpu.close();
    const share = lines.find((l) => l.outcome === 'granted')!.cpu_ms as { ran: number; waited: number };
    expect(share.ran).toBeGreaterThanOrEqual(8); // under the burn where the machine takes its share
    expect(share.ran).toBeLessThan(50); // the 40 ms after the relay would put it near 60
    expect(share.waited).toBeGreaterThanOrEqual(0);
  });
});
