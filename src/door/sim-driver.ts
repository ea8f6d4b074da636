import type { Logger } from '../log/logger.ts';
import type { DoorDriver, DoorOutput } from './driver.ts';
import { RelayLog } from './relay-log.ts';

export interface SimDoorOptions {
  /** A patron pulls the door this long after the relay unlocks. */
  openAfterMs?: number;
  /** …and it swings shut this long after opening. */
  closeAfterMs?: number;
  /** Whether every unlock brings a patron through (the demo); tests drive the contact themselves. */
  patronOnGrant?: boolean;
  /** Appends and fsyncs a line per relay write: an outside record that survives kill -9 (fault tests; relay-log.ts). */
  relayLog?: string | undefined;
  /** The store the relay log reads the latest committed grant from, through its own connection. */
  storePath?: string | undefined;
  log?: Logger;
  door?: string;
}

/** An in-memory door for the demo and tests. It logs what the "building" does. */
export class SimDoorDriver implements DoorDriver {
  readonly kind = 'sim' as const;
  readonly hasContact = true;
  readonly hasFire = true;

  relayUnlocked = false;
  contactOpen = false;
  fireActive = false;
  readonly outputs: Record<DoorOutput, boolean> = { light_granted: false, light_denied: false };
  /** Every relay write that succeeded, in order (true = unlocked). */
  readonly relayWrites: boolean[] = [];
  /** While set, relay writes throw, as a failed GPIO write would. */
  relayFault: Error | null = null;

  private readonly contactListeners = new Set<(open: boolean) => void>();
  private readonly fireListeners = new Set<(active: boolean) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private patronWalking = false;
  private readonly openAfterMs: number;
  private readonly closeAfterMs: number;
  private readonly patronOnGrant: boolean;
  private readonly relayLog: RelayLog | null;

  constructor(private readonly options: SimDoorOptions = {}) {
    this.openAfterMs = options.openAfterMs ?? 300;
    this.closeAfterMs = options.closeAfterMs ?? 2000;
    this.patronOnGrant = options.patronOnGrant ?? true;
    this.relayLog = options.relayLog ? new RelayLog(options.relayLog, options.storePath) : null;
  }

  setRelay(unlocked: boolean): void {
    if (this.relayFault) throw this.relayFault;
    const wasUnlocked = this.relayUnlocked;
    this.relayLog?.write(unlocked);
    this.relayUnlocked = unlocked;
    this.relayWrites.push(unlocked);
    if (unlocked && !wasUnlocked && this.patronOnGrant && !this.patronWalking && !this.contactOpen)
      this.patronWalksIn();
  }

  setOutput(name: DoorOutput, on: boolean): void {
    this.outputs[name] = on;
  }

  readContact(): boolean {
    return this.contactOpen;
  }

  readFire(): boolean {
    return this.fireActive;
  }

  onContact(listener: (open: boolean) => void): () => void {
    this.contactListeners.add(listener);
    return () => this.contactListeners.delete(listener);
  }

  onFire(listener: (active: boolean) => void): () => void {
    this.fireListeners.add(listener);
    return () => this.fireListeners.delete(listener);
  }

  /** Sets the raw contact, as the reed switch would (bounces included, if called in a burst). */
  setContact(open: boolean): void {
    if (open === this.contactOpen) return;
    this.contactOpen = open;
    for (const listener of [...this.contactListeners]) listener(open);
  }

  setFire(active: boolean): void {
    if (active === this.fireActive) return;
    this.fireActive = active;
    this.say(active ? 'fire panel signals alarm' : 'fire panel signals all clear');
    for (const listener of [...this.fireListeners]) listener(active);
  }

  /** Someone pulls the door open without a grant; it closes again after closeAfterMs. */
  simulateForce(): void {
    this.say('door pulled open without a grant');
    this.setContact(true);
    this.later(this.closeAfterMs, () => {
      this.say('forced door swings shut');
      this.setContact(false);
    });
  }

  private patronWalksIn(): void {
    this.patronWalking = true;
    this.later(this.openAfterMs, () => {
      if (!this.relayUnlocked) {
        this.patronWalking = false;
        this.say('patron pulled too late; the door had locked again');
        return;
      }
      this.say('patron opens the door');
      this.setContact(true);
      this.later(this.closeAfterMs, () => {
        this.patronWalking = false;
        this.say('door swings shut behind the patron');
        this.setContact(false);
      });
    });
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private say(what: string): void {
    this.options.log?.info({ door: this.options.door, sim: true }, what);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.contactListeners.clear();
    this.fireListeners.clear();
    this.relayLog?.close();
  }
}
