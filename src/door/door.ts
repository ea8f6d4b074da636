import type { Alarms } from '../alarms/alarms.ts';
import type { ScheduleState } from '../contract/events.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { DoorHardwareConfig } from './config.ts';
import type { DoorDriver, DoorOutput } from './driver.ts';

export type HoldReason = 'staffed' | 'manual';

export interface DoorState {
  /** The relay was last written locked, successfully. False while a write failure leaves it unknown. */
  locked: boolean;
  /** Debounced door contact. */
  open: boolean;
  /** Held unlocked (staffed/manual hold or fire): pulses do not relock it. */
  held: boolean;
  heldReason: HoldReason | null;
  fireActive: boolean;
  /** The last relay write failed; retries run until one succeeds. */
  relayFault: boolean;
}

export interface DoorOptions {
  id: string;
  driver: DoorDriver;
  hardware: Pick<
    DoorHardwareConfig,
    'pulse_ms' | 'held_open_seconds' | 'forced_grace_ms' | 'denied_light_ms' | 'contact' | 'fire'
  >;
  alarms: Alarms;
  bus: EventBus;
  log: Logger;
  /** The schedule's current mode, copied into door events. */
  mode: () => ScheduleState;
  /** How often a failed relay write is retried. */
  relayRetryMs?: number;
  now?: () => number;
}

export type RelayWriteListener = (at: bigint, unlocked: boolean) => void;

const DEFAULT_DEBOUNCE_MS = 30;

/** Passes a raw input on only once it has held the same value for `ms`. */
class Debounced {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    public value: boolean,
    private readonly ms: number,
    private readonly onChange: (value: boolean) => void,
  ) {}

  input(raw: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (raw === this.value) return;
    if (this.ms <= 0) {
      this.settle(raw);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.settle(raw);
    }, this.ms);
  }

  private settle(value: boolean): void {
    this.value = value;
    this.onChange(value);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * One door's behaviour: relay pulses, holds, fire release, contact alarms. The relay follows one
 * rule, `unlocked = fire || hold || pulse`, and is re-asserted until a write succeeds, so a software
 * error can leave the door locked or retrying, never unlocked (fire excepted, by design).
 */
export class Door {
  readonly id: string;
  private readonly driver: DoorDriver;
  private readonly hw: DoorOptions['hardware'];
  private readonly alarms: Alarms;
  private readonly bus: EventBus;
  private readonly log: Logger;
  private readonly mode: () => ScheduleState;
  private readonly retryMs: number;
  private readonly now: () => number;

  private relay: 'locked' | 'unlocked' | 'unknown' = 'unknown';
  private relayFault = false;
  private relayFailures = 0;
  private wanted = false;
  private lastRelockAt = Number.NEGATIVE_INFINITY;
  private pulseActive = false;
  private heldReason: HoldReason | null = null;
  private fireActive = false;
  private open = false;
  private grantedLight = false;

  private contact: Debounced | null = null;
  private fire: Debounced | null = null;
  private pulseTimer: NodeJS.Timeout | null = null;
  private heldOpenTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private deniedTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly relayListeners = new Set<RelayWriteListener>();
  private lastPublished: string | null = null;
  private lastMode: ScheduleState = 'closed';
  private started = false;
  private closed = false;

  constructor(options: DoorOptions) {
    this.id = options.id;
    this.driver = options.driver;
    this.hw = options.hardware;
    this.alarms = options.alarms;
    this.bus = options.bus;
    this.log = options.log;
    this.mode = options.mode;
    this.retryMs = options.relayRetryMs ?? 500;
    this.now = options.now ?? Date.now;
  }

  /** Reads the inputs, locks (or unlocks for fire), and starts watching. Publishes the first state. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.fireActive = this.driver.readFire();
    this.open = this.driver.readContact();
    this.fire = new Debounced(this.fireActive, this.hw.fire?.debounce_ms ?? DEFAULT_DEBOUNCE_MS, (v) =>
      this.fireChanged(v),
    );
    this.contact = new Debounced(this.open, this.hw.contact?.debounce_ms ?? DEFAULT_DEBOUNCE_MS, (v) =>
      this.contactChanged(v),
    );
    this.unsubscribe.push(
      this.driver.onFire((v) => this.fire?.input(v)),
      this.driver.onContact((v) => this.contact?.input(v)),
    );
    // A change between the first read and subscribing would otherwise go unseen until the next one.
    this.fire.input(this.driver.readFire());
    this.contact.input(this.driver.readContact());
    this.applyRelay();
    // Alarms restored from the store describe the last run; settle them against what the inputs say now.
    if (this.fireActive) {
      this.log.warn({ door: this.id }, 'fire input active at start: door unlocked and held');
      this.alarms.raise('fire_active', this.id);
    } else this.alarms.clear('fire_active', this.id);
    if (!this.open) this.alarms.clear('door_forced', this.id);
    // The first write of this run worked: a relay_fault from the last run is over.
    if (this.relay !== 'unknown' && !this.relayFault) this.alarms.clear('relay_fault', this.id);
    // Versions before contract v2 raised an alarm for a manual unlock; one may still be stored.
    this.alarms.clear('manual_unlock', this.id);
    this.updateHeldOpen();
    this.publishIfChanged();
  }

  /** Unlocks for pulse_ms; a pulse during a pulse extends it. Resolves once the relay was written. */
  async pulse(): Promise<void> {
    if (this.closed) return;
    this.pulseActive = true;
    if (this.pulseTimer) clearTimeout(this.pulseTimer);
    this.pulseTimer = setTimeout(() => this.endPulse(), this.hw.pulse_ms);
    this.applyRelay();
    this.publishIfChanged();
  }

  /** A granted entry: pulse, with the granted light on for the pulse. */
  async grant(): Promise<void> {
    await this.pulse();
    if (this.closed) return;
    this.grantedLight = true;
    this.setOutput('light_granted', true);
  }

  /** A denied entry: the denied light for denied_light_ms. The door itself does nothing. */
  deny(): void {
    if (this.closed) return;
    this.setOutput('light_denied', true);
    if (this.deniedTimer) clearTimeout(this.deniedTimer);
    this.deniedTimer = setTimeout(() => {
      this.deniedTimer = null;
      this.setOutput('light_denied', false);
    }, this.hw.denied_light_ms);
  }

  /** Holds the door unlocked (staffed hours with staffed_mode unlocked, or a staff manual unlock); null relocks. */
  setHeldUnlocked(reason: HoldReason | null): void {
    if (this.closed || reason === this.heldReason) return;
    const was = this.heldReason;
    this.heldReason = reason;
    this.applyRelay();
    this.log.info({ door: this.id, hold: reason, was }, reason ? 'door held unlocked' : 'door hold released');
    // A staff unlock is a deliberate, audited act (and a manual_unlock event), not an alarm to acknowledge.
    this.updateHeldOpen();
    this.publishIfChanged();
  }

  state(): DoorState {
    return {
      locked: this.relay === 'locked',
      open: this.open,
      held: this.heldReason !== null || this.fireActive,
      heldReason: this.heldReason,
      fireActive: this.fireActive,
      relayFault: this.relayFault,
    };
  }

  /** Called with process.hrtime.bigint() right after each successful relay write (bench: swipe→relay). */
  onRelayWrite(listener: RelayWriteListener): () => void {
    this.relayListeners.add(listener);
    return () => this.relayListeners.delete(listener);
  }

  /** Publishes a door event if anything shown changed, e.g. after the schedule's mode changed. */
  refresh(): void {
    this.publishIfChanged();
  }

  /** Stops timers and watchers and locks (unless fire is active). The driver is the caller's to close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of [this.pulseTimer, this.heldOpenTimer, this.retryTimer, this.deniedTimer]) {
      if (timer) clearTimeout(timer);
    }
    this.contact?.cancel();
    this.fire?.cancel();
    for (const off of this.unsubscribe) off();
    this.relayListeners.clear();
    try {
      this.driver.setRelay(this.fireActive);
      this.relay = this.fireActive ? 'unlocked' : 'locked';
    } catch (error) {
      this.log.error(
        { door: this.id, err: (error as Error).message },
        'relay write failed while shutting down',
      );
    }
    if (this.grantedLight) this.setOutput('light_granted', false);
    if (this.deniedTimer) this.setOutput('light_denied', false);
  }

  private endPulse(): void {
    this.pulseTimer = null;
    this.pulseActive = false;
    this.applyRelay();
    if (this.grantedLight) {
      this.grantedLight = false;
      this.setOutput('light_granted', false);
    }
    this.publishIfChanged();
  }

  private wantUnlocked(): boolean {
    return this.fireActive || this.heldReason !== null || this.pulseActive;
  }

  private applyRelay(): void {
    if (this.closed) return;
    const want = this.wantUnlocked();
    if (this.wanted && !want) this.lastRelockAt = this.now();
    this.wanted = want;
    const target = want ? 'unlocked' : 'locked';
    if (this.relay === target && !this.relayFault) return;
    try {
      this.driver.setRelay(want);
    } catch (error) {
      this.relayWriteFailed(want, error as Error);
      return;
    }
    const at = process.hrtime.bigint();
    this.relay = target;
    for (const listener of this.relayListeners) {
      try {
        listener(at, want);
      } catch {
        // a measuring hook must not disturb the door
      }
    }
    if (this.relayFault) {
      this.relayFault = false;
      this.relayFailures = 0;
      this.log.info({ door: this.id, relay: target }, 'relay write works again');
      this.alarms.clear('relay_fault', this.id);
    }
  }

  private relayWriteFailed(want: boolean, error: Error): void {
    this.relay = 'unknown';
    this.relayFault = true;
    this.relayFailures++;
    // First failure loud, then now and then, so a dead relay does not flood the log.
    if (this.relayFailures === 1 || this.relayFailures % 20 === 0) {
      this.log.error(
        {
          door: this.id,
          err: error.message,
          want: want ? 'unlocked' : 'locked',
          failures: this.relayFailures,
        },
        'relay write failed; retrying',
      );
    }
    this.alarms.raise('relay_fault', this.id, `could not ${want ? 'unlock' : 'lock'}: ${error.message}`);
    if (!this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.applyRelay();
        this.publishIfChanged();
      }, this.retryMs);
    }
  }

  private contactChanged(open: boolean): void {
    this.open = open;
    if (open) {
      const authorised = this.wantUnlocked() || this.now() - this.lastRelockAt <= this.hw.forced_grace_ms;
      if (!authorised) this.alarms.raise('door_forced', this.id, 'opened while locked');
    } else {
      this.alarms.clear('door_forced', this.id);
    }
    this.updateHeldOpen();
    this.publishIfChanged();
  }

  private fireChanged(active: boolean): void {
    this.fireActive = active;
    this.applyRelay();
    if (active) {
      this.log.warn({ door: this.id }, 'fire input active: door unlocked and held');
      this.alarms.raise('fire_active', this.id);
    } else {
      this.log.warn({ door: this.id, hold: this.heldReason }, 'fire input released');
      this.alarms.clear('fire_active', this.id);
    }
    this.updateHeldOpen();
    this.publishIfChanged();
  }

  /** The held-open clock runs while the door is open and not held unlocked on purpose. */
  private updateHeldOpen(): void {
    const applies = this.open && this.heldReason === null && !this.fireActive;
    if (!applies) {
      if (this.heldOpenTimer) clearTimeout(this.heldOpenTimer);
      this.heldOpenTimer = null;
      this.alarms.clear('door_held_open', this.id);
      return;
    }
    if (this.heldOpenTimer || this.alarms.isActive('door_held_open', this.id)) return;
    this.heldOpenTimer = setTimeout(() => {
      this.heldOpenTimer = null;
      this.alarms.raise('door_held_open', this.id, `open longer than ${this.hw.held_open_seconds} s`);
    }, this.hw.held_open_seconds * 1000);
  }

  private setOutput(name: DoorOutput, on: boolean): void {
    try {
      this.driver.setOutput(name, on);
    } catch (error) {
      this.log.warn({ door: this.id, output: name, err: (error as Error).message }, 'output write failed');
    }
  }

  private publishIfChanged(): void {
    const s = this.state();
    let mode: ScheduleState;
    try {
      mode = this.mode();
    } catch (error) {
      // Runs from timers too; a schedule bug must not throw out of the door's relay handling.
      this.log.error({ door: this.id, err: (error as Error).message }, 'schedule mode unavailable');
      mode = this.lastMode;
    }
    this.lastMode = mode;
    const key = `${s.locked}|${s.open}|${s.held}|${s.fireActive}|${mode}`;
    if (key === this.lastPublished) return;
    this.lastPublished = key;
    this.bus.publish({
      type: 'door',
      door: this.id,
      locked: s.locked,
      open: s.open,
      mode,
      held: s.held,
      fire: s.fireActive,
      ts: new Date(this.now()).toISOString(),
    });
  }
}
