/**
 * In the door process: publishes `emergency` events when a mode starts or ends. Decisions never wait for it
 * (the gate reads the mode at each swipe); it only tells MQTT and the bus. It re-reads the store every
 * `pollMs` (a mode set by the CLI, or reaching its `until`) and at once when the worker asks (`refresh`).
 */
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { EmergencyModes, EmergencyState } from './modes.ts';

export interface EmergencyWatcherOptions {
  modes: Pick<EmergencyModes, 'current' | 'endedEarly'>;
  bus: EventBus;
  log: Pick<Logger, 'info' | 'warn'>;
  now?: () => number;
  pollMs?: number;
}

export class EmergencyWatcher {
  private last: EmergencyState | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: EmergencyWatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Checks at once (a mode in force at start is announced) and then every `pollMs`. */
  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.options.pollMs ?? 2000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Compares the mode in force with the last one seen and publishes the change. Never throws. */
  refresh(): EmergencyState | null {
    const { bus, log } = this.options;
    const at = this.now();
    let current: EmergencyState | null;
    try {
      current = this.options.modes.current(new Date(at));
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'emergency mode could not be read');
      return this.last;
    }
    const last = this.last;
    if (last && last.id !== current?.id) {
      const ended = this.options.modes.endedEarly(last.id) ? 'ended' : 'expired';
      log.info({ mode: last.mode, ended }, 'emergency mode ended');
      bus.publish({
        type: 'emergency',
        state: 'ended',
        mode: last.mode,
        until: new Date(last.until).toISOString(),
        ended,
        ts: new Date(at).toISOString(),
      });
    }
    if (current && current.id !== last?.id) {
      log.info(
        { mode: current.mode, until: new Date(current.until).toISOString() },
        'emergency mode started',
      );
      bus.publish({
        type: 'emergency',
        state: 'started',
        mode: current.mode,
        until: new Date(current.until).toISOString(),
        ended: null,
        ts: new Date(at).toISOString(),
      });
    }
    this.last = current;
    return current;
  }
}
