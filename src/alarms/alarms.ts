import type { AlarmCode } from '../contract/events.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import { DeferredWrites } from '../store/deferred-writes.ts';

/** One alarm as the dashboard shows it; `clearedAt` null while its cause still holds. */
export interface ActiveAlarm {
  id: number;
  code: AlarmCode;
  door: string;
  detail: string | null;
  raisedAt: number;
  clearedAt: number | null;
  ackedAt: number | null;
  ackedBy: string | null;
}

/**
 * Cleared alarms nobody acknowledged yet that are kept in memory (and in the worker's mirror); older ones
 * stay in the store, listed and acknowledged on the alarm history page. Bounds a flapping alarm's cost.
 */
export const MAX_CLEARED_SHOWN = 50;

/**
 * Raised alarms stay active until their condition clears; raising an active alarm again is a no-op, so
 * callers may raise on every failed check. A cleared alarm nobody acknowledged stays listed (`unresolved`)
 * until someone does: a forced door must not vanish because it was closed again. Raising the same code
 * again meanwhile makes a new alarm (a second forced opening is a second event). Kept in memory too, so a
 * broken store cannot hide one.
 */
export class Alarms {
  private readonly active = new Map<string, ActiveAlarm>();
  /** Cleared, not yet acknowledged, newest last. */
  private readonly cleared = new Map<number, ActiveAlarm>();
  private readonly listeners = new Set<() => void>();
  private nextMemoryId = -1;
  /** The store's copy: written at once when its lock is free, later when another process holds it. */
  private readonly writes: DeferredWrites | null;

  constructor(
    private readonly db: Db | null,
    private readonly bus: EventBus,
    private readonly log: Logger,
    /** The door process's one queue of store writes (its order spans every writer); its own when not given. */
    writes?: DeferredWrites,
  ) {
    this.writes = db && (writes ?? new DeferredWrites(db, log));
    if (db) {
      const rows = db
        .prepare(
          `SELECT id, code, door, detail, raised_at AS raisedAt, cleared_at AS clearedAt, acked_at AS ackedAt,
             acked_by AS ackedBy
           FROM alarms WHERE cleared_at IS NULL OR acked_at IS NULL ORDER BY id DESC LIMIT ?`,
        )
        .all(MAX_CLEARED_SHOWN * 2) as ActiveAlarm[];
      for (const row of rows.reverse()) {
        if (row.clearedAt === null) this.active.set(key(row.code, row.door), row);
        else this.keepCleared(row);
      }
    }
  }

  raise(code: AlarmCode, door = '', detail?: string): void {
    if (this.active.has(key(code, door))) return;
    const raisedAt = Date.now();
    const alarm: ActiveAlarm = {
      id: this.nextMemoryId--,
      code,
      door,
      detail: detail ?? null,
      raisedAt,
      clearedAt: null,
      ackedAt: null,
      ackedBy: null,
    };
    this.active.set(key(code, door), alarm);
    // The alarm shows at once (memory, log, MQTT) whether or not the store can take it now, or at all.
    let later = false;
    this.writes?.write(`alarm ${code}`, () => {
      this.store(alarm);
      // The worker's mirror lists it under its new id.
      if (later) this.changed();
    });
    later = true;
    this.log.warn({ alarm: code, door: door || undefined, detail }, 'alarm raised');
    this.changed();
    this.bus.publish({
      type: 'alarm',
      alarm: code,
      state: 'raised',
      door: door || undefined,
      ...(detail ? { detail } : {}),
      ts: new Date(raisedAt).toISOString(),
    });
  }

  clear(code: AlarmCode, door = ''): void {
    const alarm = this.active.get(key(code, door));
    if (!alarm) return;
    this.active.delete(key(code, door));
    const clearedAt = Date.now();
    alarm.clearedAt = clearedAt;
    if (alarm.ackedAt === null) this.keepCleared(alarm);
    // After its raise (the writes keep their order), so the id is the store's by then.
    this.writes?.write(`alarm ${code} cleared`, () => {
      if (alarm.id > 0)
        this.db!.prepare('UPDATE alarms SET cleared_at = ? WHERE id = ?').run(clearedAt, alarm.id);
    });
    this.log.info({ alarm: code, door: door || undefined }, 'alarm cleared');
    this.changed();
    this.bus.publish({
      type: 'alarm',
      alarm: code,
      state: 'cleared',
      door: door || undefined,
      ts: new Date(clearedAt).toISOString(),
    });
  }

  /**
   * Records who saw it and when. An active alarm stays listed (acknowledged) until its cause clears; a
   * cleared one leaves the list. Also for a cleared alarm only the store still holds (history page).
   * False when there is no such alarm or it was acknowledged already.
   */
  acknowledge(id: number, user: string): boolean {
    if (!Number.isInteger(id) || typeof user !== 'string' || user === '') return false;
    const ackedAt = Date.now();
    const inMemory = [...this.active.values()].find((a) => a.id === id) ?? this.cleared.get(id);
    if (inMemory && inMemory.ackedAt !== null) return false;
    // Only the store knows an older alarm; reading it never waits for a lock, writing it may.
    const stored =
      !inMemory &&
      this.db !== null &&
      id > 0 &&
      this.db.prepare('SELECT 1 FROM alarms WHERE id = ? AND acked_at IS NULL').get(id) !== undefined;
    if (!inMemory && !stored) return false;
    const target = inMemory ?? { id };
    this.writes?.write('alarm acknowledged', () => {
      if (target.id > 0)
        this.db!.prepare(
          'UPDATE alarms SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL',
        ).run(ackedAt, user, target.id);
    });
    if (inMemory) {
      inMemory.ackedAt = ackedAt;
      inMemory.ackedBy = user;
      this.cleared.delete(id);
    }
    this.log.info({ alarm: inMemory?.code, id, by: user }, 'alarm acknowledged');
    this.changed();
    return true;
  }

  isActive(code: AlarmCode, door = ''): boolean {
    return this.active.has(key(code, door));
  }

  /** Alarms whose cause holds now (MQTT door state, status checks). */
  list(): ActiveAlarm[] {
    return [...this.active.values()].sort((a, b) => a.raisedAt - b.raisedAt);
  }

  /** What the dashboard lists: active alarms, and cleared ones nobody has acknowledged yet. */
  unresolved(): ActiveAlarm[] {
    return [...this.active.values(), ...this.cleared.values()].sort(
      (a, b) => a.raisedAt - b.raisedAt || a.id - b.id,
    );
  }

  /** Codes active for a door, including site-wide ones (door ''). */
  codesFor(door: string): AlarmCode[] {
    return this.list()
      .filter((a) => a.door === door || a.door === '')
      .map((a) => a.code);
  }

  /** Called after every raise, clear and acknowledgement (the worker's mirror follows). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** At stop: the store's copy of what is still waiting for its lock. */
  flush(): void {
    this.writes?.flush();
  }

  /** Store writes waiting for another process to let go of the store's lock. */
  get unstored(): number {
    return this.writes?.pending ?? 0;
  }

  /** Runs as a deferred write: the alarm takes the store's id (it had a memory id until then). */
  private store(alarm: ActiveAlarm): void {
    const id = Number(
      this.db!.prepare(
        'INSERT INTO alarms (code, door, detail, raised_at, cleared_at, acked_at, acked_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        alarm.code,
        alarm.door,
        alarm.detail,
        alarm.raisedAt,
        alarm.clearedAt,
        alarm.ackedAt,
        alarm.ackedBy,
      ).lastInsertRowid,
    );
    const memoryId = alarm.id;
    alarm.id = id;
    if (this.cleared.get(memoryId) === alarm) {
      this.cleared.delete(memoryId);
      this.keepCleared(alarm);
    }
  }

  private keepCleared(alarm: ActiveAlarm): void {
    this.cleared.set(alarm.id, alarm);
    while (this.cleared.size > MAX_CLEARED_SHOWN) {
      const oldest = this.cleared.keys().next().value as number;
      this.cleared.delete(oldest);
    }
  }

  private changed(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.log.error({ err: (error as Error).message }, 'alarm listener threw');
      }
    }
  }
}

const key = (code: string, door: string) => `${code}\u0000${door}`;
