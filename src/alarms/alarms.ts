import type { AlarmCode } from '../contract/events.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';

export interface ActiveAlarm {
  id: number;
  code: AlarmCode;
  door: string;
  detail: string | null;
  raisedAt: number;
  ackedAt: number | null;
  ackedBy: string | null;
}

/**
 * Raised alarms stay until their condition clears. Raising an active alarm again is a no-op, so
 * callers may raise on every failed check. Kept in memory too, so a broken store cannot hide one.
 */
export class Alarms {
  private readonly active = new Map<string, ActiveAlarm>();
  private nextMemoryId = -1;

  constructor(
    private readonly db: Db | null,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {
    if (db) {
      const rows = db
        .prepare(
          'SELECT id, code, door, detail, raised_at AS raisedAt, acked_at AS ackedAt, acked_by AS ackedBy FROM alarms WHERE cleared_at IS NULL',
        )
        .all() as ActiveAlarm[];
      for (const row of rows) this.active.set(key(row.code, row.door), row);
    }
  }

  raise(code: AlarmCode, door = '', detail?: string): void {
    if (this.active.has(key(code, door))) return;
    const raisedAt = Date.now();
    let id = this.nextMemoryId--;
    try {
      if (this.db) {
        id = Number(
          this.db
            .prepare('INSERT INTO alarms (code, door, detail, raised_at) VALUES (?, ?, ?, ?)')
            .run(code, door, detail ?? null, raisedAt).lastInsertRowid,
        );
      }
    } catch (error) {
      // The alarm still shows (memory, log, MQTT) when the store is what failed.
      this.log.error({ err: (error as Error).message, alarm: code }, 'alarm not stored');
    }
    this.active.set(key(code, door), {
      id,
      code,
      door,
      detail: detail ?? null,
      raisedAt,
      ackedAt: null,
      ackedBy: null,
    });
    this.log.warn({ alarm: code, door: door || undefined, detail }, 'alarm raised');
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
    try {
      if (this.db && alarm.id > 0)
        this.db.prepare('UPDATE alarms SET cleared_at = ? WHERE id = ?').run(clearedAt, alarm.id);
    } catch (error) {
      this.log.error({ err: (error as Error).message, alarm: code }, 'alarm clearing not stored');
    }
    this.log.info({ alarm: code, door: door || undefined }, 'alarm cleared');
    this.bus.publish({
      type: 'alarm',
      alarm: code,
      state: 'cleared',
      door: door || undefined,
      ts: new Date(clearedAt).toISOString(),
    });
  }

  /** Acknowledging records that someone saw it; the alarm stays until its condition clears. */
  acknowledge(id: number, user: string): boolean {
    for (const alarm of this.active.values()) {
      if (alarm.id !== id) continue;
      alarm.ackedAt = Date.now();
      alarm.ackedBy = user;
      if (this.db && id > 0)
        this.db
          .prepare('UPDATE alarms SET acked_at = ?, acked_by = ? WHERE id = ?')
          .run(alarm.ackedAt, user, id);
      return true;
    }
    return false;
  }

  isActive(code: AlarmCode, door = ''): boolean {
    return this.active.has(key(code, door));
  }

  list(): ActiveAlarm[] {
    return [...this.active.values()].sort((a, b) => a.raisedAt - b.raisedAt);
  }

  /** Codes active for a door, including site-wide ones (door ''). */
  codesFor(door: string): AlarmCode[] {
    return this.list()
      .filter((a) => a.door === door || a.door === '')
      .map((a) => a.code);
  }
}

const key = (code: string, door: string) => `${code}\u0000${door}`;
