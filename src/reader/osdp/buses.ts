/** Readers of several doors can share one RS-485 bus: one OsdpBus per serial path, closed with its last reader. */
import type { OsdpBus } from './bus.ts';

const buses = new Map<string, { bus: OsdpBus; users: number }>();

export function acquireBus(path: string, create: () => OsdpBus): { bus: OsdpBus; release(): Promise<void> } {
  let entry = buses.get(path);
  if (!entry) {
    entry = { bus: create(), users: 0 };
    buses.set(path, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    bus: held.bus,
    async release() {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0) return;
      if (buses.get(path) === held) buses.delete(path);
      await held.bus.stop();
    },
  };
}
