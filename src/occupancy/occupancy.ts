/**
 * "Inside now" and passages per local hour, from whatever counter a door has (beam pair or MQTT), plus the
 * tailgating check: within one door-open window (unlock … relocked and closed again) more passages in than
 * grants. Anonymous throughout: a counter sees bodies, and grants are counted, not named.
 */
import type { Statement } from 'better-sqlite3';
import type { Alarms } from '../alarms/alarms.ts';
import { OCCUPANCY_MAX } from '../contract/mqtt.ts';
import type { DorvaktEvent, PassageDirection, ScheduleState } from '../contract/events.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import type { DeferredWrites } from '../store/deferred-writes.ts';
import { localDayHour } from '../stats/tz.ts';
import { localDate, wallClock } from '../time/zone.ts';

export interface OccupancyOptions {
  db: Db;
  bus: EventBus;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
  timezone: string;
  /** Doors with a counter: only these get a tailgating check. */
  doors: string[];
  /** The door's schedule state now (stored with each passage). */
  modeOf: (door: string) => ScheduleState;
  /** `HH:MM` local: "inside now" goes back to 0 then (within the hour) if the door is closed. */
  resetAt: string;
  tailgating: boolean;
  /** Called with each tailgating window (the bookmark request). */
  onTailgating?: ((door: string, from: Date, at: Date) => void) | undefined;
  now?: () => Date;
  /** Passages are written to the store together this often (each write is a synced commit on the door's store). */
  flushMs?: number;
  /** The door process's queue of store writes: a flush then never waits for another process's lock. */
  writes?: DeferredWrites | undefined;
}

/** Counts not yet written, by `day|hour|door|mode`. */
interface PendingHour {
  day: string;
  hour: number;
  door: string;
  mode: ScheduleState;
  in: number;
  out: number;
  tail: number;
}

const DEFAULT_FLUSH_MS = 10_000;

interface OpenWindow {
  from: Date;
  grants: number;
  passagesIn: number;
  /** Held unlocked at some point (staffed-unlocked hours, a manual unlock, fire): anyone may walk in. */
  held: boolean;
}

export class Occupancy {
  private inside: number;
  private resetDay: string | null;
  private readonly windows = new Map<string, OpenWindow>();
  private readonly pendingGrants = new Map<string, number>();
  private readonly listeners = new Set<(inside: number) => void>();
  private readonly now: () => Date;
  private readonly addHour: Statement;
  private readonly saveNow: Statement;
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Map<string, PendingHour>();
  private dirty = false;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OccupancyOptions) {
    this.now = options.now ?? (() => new Date());
    const { db } = options;
    const row = db.prepare('SELECT inside, reset_day AS resetDay FROM occupancy_now WHERE id = 1').get() as
      | { inside: number; resetDay: string | null }
      | undefined;
    this.inside = row?.inside ?? 0;
    this.resetDay = row?.resetDay ?? null;
    this.addHour = db.prepare(
      `INSERT INTO passages_hourly (day, hour, door, mode, passages_in, passages_out, tailgating)
       VALUES (@day, @hour, @door, @mode, @in, @out, @tail)
       ON CONFLICT (day, hour, door, mode) DO UPDATE SET
         passages_in = passages_in + excluded.passages_in,
         passages_out = passages_out + excluded.passages_out,
         tailgating = tailgating + excluded.tailgating`,
    );
    this.saveNow = db.prepare(
      `INSERT INTO occupancy_now (id, inside, updated_at, reset_day) VALUES (1, @inside, @at, @resetDay)
       ON CONFLICT (id) DO UPDATE SET inside = excluded.inside, updated_at = excluded.updated_at,
         reset_day = excluded.reset_day`,
    );
  }

  start(): void {
    this.unsubscribe = this.options.bus.subscribe((event) => this.onEvent(event));
    this.flushTimer = setInterval(() => this.flush(), this.options.flushMs ?? DEFAULT_FLUSH_MS);
    this.flushTimer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    clearInterval(this.flushTimer);
    this.flush();
  }

  /**
   * Writes the counts gathered since the last flush and "inside now" in one commit. Batched because the door
   * process's store syncs every commit to disk, and a swipe's own commit must not queue behind a crowd's.
   */
  flush(): void {
    if (!this.dirty) return;
    const { writes } = this.options;
    // One waiting flush is enough: it writes what has gathered by the time the lock is free.
    if (writes) writes.write('passages', () => this.writeCounts(), 'occupancy');
    else {
      try {
        this.writeCounts();
      } catch (error) {
        // Kept for the next flush; the count in memory goes on.
        this.options.log.error({ err: (error as Error).message }, 'passages not stored; retrying');
      }
    }
  }

  private writeCounts(): void {
    if (!this.dirty) return;
    const rows = [...this.pending.values()];
    const at = this.now().getTime();
    this.options.db.transaction(() => {
      for (const row of rows) this.addHour.run(row);
      this.saveNow.run({ inside: this.inside, at, resetDay: this.resetDay });
    })();
    this.pending.clear();
    this.dirty = false;
  }

  /** People inside the building now (all doors together); never below 0. */
  insideNow(): number {
    return this.inside;
  }

  /** Told after every change of "inside now" (the closing sweep re-checks at once). */
  onChange(listener: (inside: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `count` people went through `door` in one direction (a beam pair reports one, a networked counter more). */
  passages(door: string, direction: PassageDirection, count: number, at: Date = this.now()): void {
    if (count <= 0) return;
    const before = this.inside;
    this.inside = direction === 'in' ? Math.min(OCCUPANCY_MAX, before + count) : Math.max(0, before - count);
    const window = this.windows.get(door);
    if (window && direction === 'in') window.passagesIn += count;
    this.store(door, at, direction === 'in' ? count : 0, direction === 'out' ? count : 0, 0);
    this.options.bus.publish({
      type: 'occupancy',
      door,
      direction,
      inside: this.inside,
      ts: at.toISOString(),
    });
    if (this.inside !== before) this.changed();
  }

  /** The nightly reset: counters drift, so "inside now" starts each day at 0 (only when the door is closed). */
  tick(at: Date = this.now()): void {
    const [h, m] = this.options.resetAt.split(':').map(Number) as [number, number];
    const wall = wallClock(at, this.options.timezone);
    const minutes = wall.hour * 60 + wall.minute - (h * 60 + m);
    if (minutes < 0 || minutes >= 60) return;
    const today = localDate(at, this.options.timezone);
    if (this.resetDay === today) return;
    const door = this.options.doors[0] ?? '';
    if (this.options.doors.some((d) => this.options.modeOf(d) !== 'closed')) return;
    const was = this.inside;
    this.inside = 0;
    this.resetDay = today;
    this.persist();
    if (was !== 0) this.options.log.info({ was }, 'occupancy reset for the night');
    this.options.bus.publish({
      type: 'occupancy',
      door,
      direction: 'reset',
      inside: 0,
      ts: at.toISOString(),
    });
    if (was !== 0) this.changed();
  }

  private onEvent(event: DorvaktEvent): void {
    if (!this.options.doors.includes('door' in event ? (event.door as string) : '')) return;
    if (event.type === 'entry' && event.outcome === 'granted') {
      const window = this.windows.get(event.door);
      if (window) window.grants++;
      else this.pendingGrants.set(event.door, (this.pendingGrants.get(event.door) ?? 0) + 1);
    } else if (event.type === 'door') {
      const window = this.windows.get(event.door);
      if (!window && !event.locked) {
        // The grant is committed before the relay moves, and a pulse follows it at once.
        this.windows.set(event.door, {
          from: new Date(event.ts),
          grants: this.pendingGrants.get(event.door) ?? 0,
          passagesIn: 0,
          held: event.held,
        });
        this.pendingGrants.delete(event.door);
      } else if (window) {
        if (event.held) window.held = true;
        // Relocked and shut: people still walking through the open door after the relock count too.
        if (event.locked && !event.open) this.closeWindow(event.door, window, new Date(event.ts));
      }
    }
  }

  private closeWindow(door: string, window: OpenWindow, at: Date): void {
    this.windows.delete(door);
    this.pendingGrants.delete(door);
    if (!this.options.tailgating || window.held || window.passagesIn <= window.grants) return;
    const detail = `${window.passagesIn} in, ${window.grants} granted`;
    this.options.log.warn({ door, in: window.passagesIn, grants: window.grants }, 'tailgating');
    // An event, not a lasting condition: raised and cleared at once, listed until someone acknowledges it.
    this.options.alarms.raise('tailgating', door, detail);
    this.options.alarms.clear('tailgating', door);
    this.store(door, at, 0, 0, 1);
    this.options.onTailgating?.(door, window.from, at);
  }

  private store(door: string, at: Date, passagesIn: number, passagesOut: number, tail: number): void {
    const { day, hour } = localDayHour(this.options.timezone, at.getTime());
    const mode = this.options.modeOf(door);
    const key = `${day}|${hour}|${door}|${mode}`;
    const row = this.pending.get(key) ?? { day, hour, door, mode, in: 0, out: 0, tail: 0 };
    row.in += passagesIn;
    row.out += passagesOut;
    row.tail += tail;
    this.pending.set(key, row);
    this.dirty = true;
  }

  private persist(): void {
    this.dirty = true;
    this.flush();
  }

  private changed(): void {
    for (const listener of this.listeners) {
      try {
        listener(this.inside);
      } catch (error) {
        this.options.log.error({ err: (error as Error).message }, 'occupancy listener threw');
      }
    }
  }
}
