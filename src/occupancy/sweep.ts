/**
 * The closing sweep (TEK17 §11-14: nobody inside when the building is locked for the night). When the state
 * engine is about to arm the intruder alarm (the configured output taking its `closed` value), people inside
 * by the counter or an active motion input hold the arming back: `occupied_at_close` is raised, on-call staff
 * are told, and it is checked again every `recheck` and whenever the count changes; once clear the engine is
 * asked to evaluate again and arms. Only the arming waits; nothing here touches a door or a swipe.
 */
import type { Alarms } from '../alarms/alarms.ts';
import { CONTRACT_VERSION } from '../contract/mqtt.ts';
import type { OnCallPayload } from '../contract/occupancy.ts';
import type { SiteState } from '../contract/events.ts';
import type { Logger } from '../log/logger.ts';

export interface ClosingSweepOptions {
  /** The output that arms, and the value that arms it (its `closed` value). */
  output: string;
  armValue: string;
  site: string;
  /** People inside now, or null when no counter runs. */
  inside: () => number | null;
  /** A motion input is active now. */
  motion: () => boolean;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
  notify: (payload: OnCallPayload) => Promise<void>;
  /** Asks the state engine to evaluate again (it then arms, the sweep allowing). */
  rearm: () => void;
  recheckMs: number;
  now?: () => Date;
}

export class ClosingSweep {
  private holding = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: ClosingSweepOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The arming is held back now (tests, the dashboard). */
  get held(): boolean {
    return this.holding;
  }

  /**
   * Asked by the state engine before it sets an output; true holds the write back. Only the arm value of the
   * arm output in state `closed` is ever held: any other value (disarm in the morning, an emergency) ends it.
   */
  holdsBack(output: string, value: string, state: SiteState): boolean {
    if (output !== this.options.output) return false;
    if (value !== this.options.armValue || state !== 'closed') {
      if (this.holding) this.release('not closing any more');
      return false;
    }
    const occupied = this.occupied();
    if (occupied && !this.holding) this.hold(occupied);
    if (!occupied && this.holding) this.release('clear');
    return occupied !== null;
  }

  /** Checks again now (the timer and a change of the count call it); arms through the engine when clear. */
  recheck(): void {
    if (!this.holding) return;
    if (this.occupied()) return;
    this.release('clear');
    this.options.rearm();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private occupied(): { inside: number | null; motion: boolean } | null {
    const inside = this.options.inside();
    const motion = this.options.motion();
    return (inside ?? 0) > 0 || motion ? { inside, motion } : null;
  }

  private hold(occupied: { inside: number | null; motion: boolean }): void {
    this.holding = true;
    const detail = `${occupied.inside ?? '?'} inside${occupied.motion ? ', motion' : ''}; ${this.options.output} not set to ${this.options.armValue}`;
    this.options.log.warn(
      { inside: occupied.inside, motion: occupied.motion },
      'occupied at closing: not arming',
    );
    this.options.alarms.raise('occupied_at_close', '', detail);
    void this.options.notify(this.payload('raised', occupied));
    clearInterval(this.timer);
    this.timer = setInterval(() => this.recheck(), this.options.recheckMs);
    this.timer.unref();
  }

  private release(why: string): void {
    this.holding = false;
    clearInterval(this.timer);
    this.timer = undefined;
    this.options.log.info({ why }, 'closing sweep ended');
    this.options.alarms.clear('occupied_at_close', '');
    void this.options.notify(
      this.payload('cleared', { inside: this.options.inside(), motion: this.options.motion() }),
    );
  }

  private payload(
    state: OnCallPayload['state'],
    o: { inside: number | null; motion: boolean },
  ): OnCallPayload {
    return {
      v: CONTRACT_VERSION,
      alarm: 'occupied_at_close',
      state,
      site: this.options.site,
      inside: o.inside,
      motion: o.motion,
      ts: this.now().toISOString(),
    };
  }
}
