/**
 * The site's state engine: follows the timeline (timeline.ts) on a minute tick plus a timer aimed at the
 * next change, sets outputs, starts announcements and publishes `state` and `output` events. It shares
 * the door process but never its path: writes are a sysfs write or an MQTT hand-off, the player is a child
 * process, and a failing output raises `output_failed` and is retried on the next tick.
 */
import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import type { SiteStatus } from '../contract/door-panel.ts';
import type { EmergencyKind, SiteState } from '../contract/events.ts';
import type { LineOpener } from '../door/gpio-line.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { Announcer } from './announcer.ts';
import { type OutputConfig, outputsOf, type StatesConfig } from './config.ts';
import { type EmergencyMode, NO_EMERGENCY } from './emergency.ts';
import { openSink, type OutputSink } from './outputs.ts';
import {
  type AnnouncementDue,
  type OutputChange,
  type ScheduleReader,
  type StatePeriod,
  timelineOf,
} from './timeline.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
// Fire a hair after the due instant so the evaluation lands on the new side.
const TIMER_MARGIN_MS = 25;
/** An announcement found due later than this (the box was off) is skipped, not said late. */
const ANNOUNCE_LATE_MS = 90_000;

export interface StateEngineOptions {
  config: StatesConfig;
  schedule: ScheduleReader;
  bus: EventBus;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
  emergency?: EmergencyMode | undefined;
  mqtt?: MqttClient | undefined;
  /** How GPIO lines are opened (tests: a fake sysfs tree). */
  opener?: LineOpener | undefined;
  announcer?: Announcer | undefined;
  /** Wall clock; injectable for tests. */
  now?: () => Date;
  /** The regular tick (default one minute). */
  tickMs?: number;
  /**
   * Asked before an output is set; true holds the write back (it is asked again on the next evaluation). The
   * closing sweep (src/occupancy) holds the intruder alarm's arming while people are inside.
   */
  holdBack?: ((output: string, value: string, state: SiteState) => boolean) | undefined;
}

interface OutputSlot {
  config: OutputConfig;
  changes: OutputChange[];
  sink: OutputSink | null;
  opening: boolean;
  /** The value last written (or handed to MQTT) without an error. */
  written: string | undefined;
  /** The value last announced as an `output` event. */
  published: string | undefined;
}

export interface StateStatus extends SiteStatus {
  emergency: EmergencyKind | null;
}

/** Alarm scope of one output; kept apart from door ids. */
export const outputScope = (id: string): string => `output:${id}`;

export class StateEngine {
  private readonly now: () => Date;
  private readonly tickMs: number;
  private readonly emergency: EmergencyMode;
  private readonly slots: OutputSlot[];
  private periods: StatePeriod[] = [];
  private announcements: AnnouncementDue[] = [];
  private windowFrom = 0;
  private windowTo = 0;
  private readonly announced = new Set<number>();
  private state: SiteState | null = null;
  private emergencyKind: EmergencyKind | null = null;
  private tick: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: StateEngineOptions) {
    this.now = options.now ?? (() => new Date());
    this.tickMs = options.tickMs ?? 60_000;
    this.emergency = options.emergency ?? NO_EMERGENCY;
    this.slots = outputsOf(options.config).map((config) => ({
      config,
      changes: [],
      sink: null,
      opening: false,
      written: undefined,
      published: undefined,
    }));
  }

  /** Computes the timeline, opens the outputs (a failing one raises its alarm) and starts ticking. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.recompute(this.now().getTime());
    await Promise.all(this.slots.map((slot) => this.open(slot)));
    if (!this.running) return;
    this.options.mqtt?.on('connect', this.onConnect);
    this.tick = setInterval(() => this.timed(), this.tickMs);
    this.tick.unref();
    this.evaluate();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.tick);
    clearTimeout(this.timer);
    this.options.mqtt?.off('connect', this.onConnect);
    this.options.announcer?.stop();
    for (const slot of this.slots) {
      try {
        slot.sink?.close();
      } catch {
        // closing the others matters more
      }
      slot.sink = null;
    }
  }

  /** The schedule's plans changed (a new computation): the timeline is computed again. */
  refresh(): void {
    this.recompute(this.now().getTime());
    this.evaluate();
  }

  /** Re-reads the clock and the emergency mode; sets what is due. Safe to call at any time. */
  evaluate(): void {
    const now = this.now();
    const at = now.getTime();
    if (at < this.windowFrom + DAY_MS || at > this.windowTo - DAY_MS) this.recompute(at);
    const emergency = this.emergency.current(now);
    const period = this.periodAt(at);
    const state: SiteState = emergency ? 'emergency' : (period?.state ?? 'closed');
    if (state !== this.state || emergency !== this.emergencyKind) {
      const previous = this.state;
      this.state = state;
      this.emergencyKind = emergency;
      const next = emergency ? null : this.nextAfter(at);
      this.options.log.info({ state, previous, emergency, next }, 'site state');
      this.options.bus.publish({
        type: 'state',
        state,
        previous,
        emergency,
        next,
        ts: now.toISOString(),
      });
    }
    for (const slot of this.slots) this.apply(slot, this.valueOf(slot, at, state), now);
    if (!emergency) this.announceDue(at);
    if (this.tick) this.arm(at);
  }

  /** Says the announcement for `minutes` now, before the next closing (the demo's `announce`). */
  announceNow(minutes: number): boolean {
    const announcer = this.options.announcer;
    const at = this.now().getTime();
    const closing = this.periods.find((p) => p.state === 'closed' && p.from > at);
    if (!announcer || !closing) return false;
    const said = announcer.announce(minutes, new Date(closing.from));
    this.options.bus.publish({
      type: 'announcement',
      minutes,
      at: said.closesAt,
      languages: announcer.languages,
      ts: new Date(at).toISOString(),
    });
    return true;
  }

  status(): StateStatus {
    const at = this.now().getTime();
    const upcoming: StateStatus['upcoming'] = [];
    for (const slot of this.slots)
      for (const change of slot.changes)
        if (change.at > at)
          upcoming.push({
            at: new Date(change.at).toISOString(),
            output: change.output,
            value: change.value,
          });
    upcoming.sort((a, b) => a.at.localeCompare(b.at));
    return {
      state: this.state ?? this.periodAt(at)?.state ?? 'closed',
      emergency: this.emergencyKind,
      next: this.emergencyKind ? null : this.nextAfter(at),
      upcoming: upcoming.slice(0, 5),
    };
  }

  /** The values written so far, by output (tests, the dashboard). */
  written(): Record<string, string | undefined> {
    return Object.fromEntries(this.slots.map((s) => [s.config.id, s.written]));
  }

  private recompute(at: number): void {
    const { config } = this.options;
    this.windowFrom = at - 2 * DAY_MS;
    this.windowTo = at + 3 * DAY_MS;
    const timeline = timelineOf(this.options.schedule, {
      closing: { minutes: config.closing_minutes, before: config.closing_before },
      outputs: this.slots.map((s) => s.config),
      announceMinutes: config.announcements.enabled ? config.announcements.minutes : [],
      from: this.windowFrom,
      to: this.windowTo,
    });
    this.periods = timeline.periods;
    this.announcements = timeline.announcements;
    for (const slot of this.slots) slot.changes = timeline.outputs.filter((c) => c.output === slot.config.id);
  }

  private periodAt(at: number): StatePeriod | undefined {
    let lo = 0;
    let hi = this.periods.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = this.periods[mid]!;
      if (at < p.from) hi = mid - 1;
      else if (at >= p.to) lo = mid + 1;
      else return p;
    }
    return undefined;
  }

  private nextAfter(at: number): { state: SiteState; at: string } | null {
    const current = this.periodAt(at);
    if (!current) return null;
    const next = this.periods[this.periods.indexOf(current) + 1];
    return next ? { state: next.state, at: new Date(next.from).toISOString() } : null;
  }

  /** The value an output should have at `at`: its emergency value in an emergency, else the timeline's. */
  private valueOf(slot: OutputSlot, at: number, state: SiteState): string | undefined {
    if (state === 'emergency') {
      const value = slot.config.values.emergency?.value;
      if (value !== undefined) return value;
    }
    const changes = slot.changes;
    let lo = 0;
    let hi = changes.length - 1;
    let found: OutputChange | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (changes[mid]!.at <= at) {
        found = changes[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found?.value;
  }

  private apply(slot: OutputSlot, value: string | undefined, now: Date): void {
    if (value === undefined) return;
    if (!slot.sink) {
      void this.open(slot);
      return;
    }
    if (value === slot.written) return;
    const { id } = slot.config;
    if (this.heldBack(id, value)) return;
    try {
      slot.sink.set(value, (error) => this.failed(slot, value, error));
    } catch (error) {
      this.failed(slot, value, error as Error);
      return;
    }
    slot.written = value;
    this.options.alarms.clear('output_failed', outputScope(id));
    if (value === slot.published) return;
    slot.published = value;
    const state = this.state ?? 'closed';
    this.options.log.info({ output: id, value, state, target: slot.sink.target }, 'output set');
    this.options.bus.publish({ type: 'output', output: id, value, state, ts: now.toISOString() });
  }

  private heldBack(id: string, value: string): boolean {
    try {
      return this.options.holdBack?.(id, value, this.state ?? 'closed') === true;
    } catch (error) {
      // A broken sweep must not leave the building unarmed: the output is set.
      this.options.log.error({ output: id, err: (error as Error).message }, 'hold-back check threw');
      return false;
    }
  }

  private failed(slot: OutputSlot, value: string, error: Error): void {
    // Written again on the next tick.
    if (slot.written === value) slot.written = undefined;
    const { id } = slot.config;
    this.options.log.error(
      { output: id, value, err: error.message },
      'output could not be set; the door runs on, retrying',
    );
    this.options.alarms.raise(
      'output_failed',
      outputScope(id),
      `${id} = ${value}: ${error.message}`.slice(0, 300),
    );
  }

  private async open(slot: OutputSlot): Promise<void> {
    if (slot.sink || slot.opening || !this.running) return;
    slot.opening = true;
    const { id } = slot.config;
    try {
      let initial = this.valueOf(slot, this.now().getTime(), this.state ?? 'closed');
      // A GPIO line is written as it opens: one held back (the closing sweep) opens at its other value.
      if (slot.config.gpio && initial !== undefined && this.heldBack(id, initial))
        initial = initial === 'on' ? 'off' : 'on';
      const sink = await openSink(slot.config, initial, {
        sysfsRoot: this.options.config.sysfs_root,
        mqtt: this.options.mqtt,
        opener: this.options.opener,
      });
      if (!this.running) {
        sink.close();
        return;
      }
      slot.sink = sink;
      this.options.log.info({ output: id, target: sink.target }, 'output ready');
    } catch (error) {
      this.options.log.error(
        { output: id, err: (error as Error).message },
        'output could not be opened; retrying',
      );
      this.options.alarms.raise(
        'output_failed',
        outputScope(id),
        `${id}: ${(error as Error).message}`.slice(0, 300),
      );
    } finally {
      slot.opening = false;
    }
  }

  private announceDue(at: number): void {
    const announcer = this.options.announcer;
    if (!announcer) return;
    for (const due of this.announcements) {
      if (due.at > at) break;
      if (at - due.at > ANNOUNCE_LATE_MS || this.announced.has(due.at)) continue;
      this.announced.add(due.at);
      if (this.announced.size > 64) this.announced.delete(this.announced.values().next().value!);
      const said = announcer.announce(due.minutes, new Date(due.closesAt));
      this.options.bus.publish({
        type: 'announcement',
        minutes: due.minutes,
        at: said.closesAt,
        languages: announcer.languages,
        ts: new Date(at).toISOString(),
      });
    }
  }

  /** A restarted broker may have lost retained values, and a clean session queued nothing: send them again. */
  private readonly onConnect = (): void => {
    for (const slot of this.slots) {
      if (!slot.config.mqtt || slot.written === undefined || !slot.sink) continue;
      const value = slot.written;
      try {
        slot.sink.set(value, (error) => this.failed(slot, value, error));
      } catch (error) {
        this.failed(slot, value, error as Error);
      }
    }
  };

  private timed(): void {
    try {
      this.evaluate();
    } catch (error) {
      this.options.log.error({ err: (error as Error).message }, 'state engine tick failed');
    }
  }

  /** Aims a timer at the next moment something is due, so offsets land on time rather than on the tick. */
  private arm(at: number): void {
    clearTimeout(this.timer);
    let due = this.periodAt(at)?.to ?? Number.POSITIVE_INFINITY;
    for (const slot of this.slots) {
      const next = slot.changes.find((c) => c.at > at);
      if (next && next.at < due) due = next.at;
    }
    const announcement = this.announcements.find((a) => a.at > at);
    if (announcement && announcement.at < due) due = announcement.at;
    if (!Number.isFinite(due) || due - at > this.tickMs) return;
    this.timer = setTimeout(() => this.timed(), due - at + TIMER_MARGIN_MS);
    this.timer.unref();
  }
}
