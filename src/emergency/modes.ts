/**
 * Emergency mode of the site: `nobody` (the default: every swipe refused with `emergency_closed`) or `everybody`
 * (every readable card opens, each swipe recorded as an entry), for a period with a reason; it ends itself at
 * `until`, or earlier when an admin ends it. Stored as history in `emergency_modes`; every change audited.
 *
 * `current(now)` is the one question other parts ask (the gate at each swipe, the dashboard's banner, the
 * state engine): one indexed read, so a mode set from the dashboard or the CLI holds at the next swipe.
 */
import { audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';

export const EMERGENCY_MODES = ['nobody', 'everybody'] as const;
export type EmergencyModeName = (typeof EMERGENCY_MODES)[number];

/** An emergency mode in force. Times are UTC ms since the epoch. */
export interface EmergencyState {
  id: number;
  mode: EmergencyModeName;
  reason: string;
  since: number;
  until: number;
}

/** What other modules need: the mode in force at an instant, or null. */
export interface EmergencyMode {
  current(now: Date): EmergencyState | null;
}

/** A period of emergency mode as the report shows it, with the swipes it met. */
export interface EmergencyPeriod extends EmergencyState {
  setBy: string;
  endedAt: number | null;
  endedBy: string | null;
  attempts: { granted: number; denied: number };
}

export class EmergencyError extends Error {
  override name = 'EmergencyError';
}

/** Longer closures belong in the schedule's dated exceptions (docs/schedule.md). */
export const EMERGENCY_MAX_DAYS = 31;

interface Row {
  id: number;
  mode: EmergencyModeName;
  reason: string;
  starts_at: number;
  until: number;
  set_by: string;
  ended_at: number | null;
  ended_by: string | null;
}

const toState = (r: Row): EmergencyState => ({
  id: r.id,
  mode: r.mode,
  reason: r.reason,
  since: r.starts_at,
  until: r.until,
});

export class EmergencyModes implements EmergencyMode {
  private readonly inForce;

  constructor(private readonly db: Db) {
    this.inForce = db.prepare(
      `SELECT * FROM emergency_modes WHERE until > ? AND ended_at IS NULL AND starts_at <= ? ORDER BY id DESC LIMIT 1`,
    );
  }

  current(now: Date): EmergencyState | null {
    const at = now.getTime();
    const row = this.inForce.get(at, at) as Row | undefined;
    return row ? toState(row) : null;
  }

  /** Starts a mode now until `until`; one in force is ended (replaced) in the same transaction. */
  set(
    input: { mode: EmergencyModeName; until: number; reason: string },
    actor: string,
    now = Date.now(),
  ): EmergencyState {
    if (!EMERGENCY_MODES.includes(input.mode))
      throw new EmergencyError('the mode must be nobody or everybody');
    const reason = input.reason.trim();
    if (reason.length < 3 || reason.length > 200)
      throw new EmergencyError('the reason must be 3–200 characters');
    if (!(input.until > now)) throw new EmergencyError('the end must be in the future');
    if (input.until > now + EMERGENCY_MAX_DAYS * 86_400_000)
      throw new EmergencyError(`an emergency mode lasts at most ${EMERGENCY_MAX_DAYS} days`);
    return this.db.transaction(() => {
      const replaced = this.current(new Date(now));
      if (replaced)
        this.db
          .prepare('UPDATE emergency_modes SET ended_at = ?, ended_by = ? WHERE id = ?')
          .run(now, actor, replaced.id);
      const id = Number(
        this.db
          .prepare(
            'INSERT INTO emergency_modes (mode, reason, starts_at, until, set_by) VALUES (?, ?, ?, ?, ?)',
          )
          .run(input.mode, reason, now, input.until, actor).lastInsertRowid,
      );
      audit(
        this.db,
        {
          actor,
          action: 'emergency.set',
          reason,
          detail: {
            mode: input.mode,
            until: new Date(input.until).toISOString(),
            replaced: replaced?.id ?? null,
          },
        },
        now,
      );
      return { id, mode: input.mode, reason, since: now, until: input.until };
    })();
  }

  /** Ends the mode in force now; false when none was. */
  end(actor: string, reason: string | undefined, now = Date.now()): boolean {
    return this.db.transaction(() => {
      const current = this.current(new Date(now));
      if (!current) return false;
      this.db
        .prepare('UPDATE emergency_modes SET ended_at = ?, ended_by = ? WHERE id = ?')
        .run(now, actor, current.id);
      audit(
        this.db,
        { actor, action: 'emergency.ended', reason, detail: { mode: current.mode, id: current.id } },
        now,
      );
      return true;
    })();
  }

  /** Whether the period `id` was ended by an admin (false: it ran to its `until`). */
  endedEarly(id: number): boolean {
    return (
      this.db.prepare('SELECT ended_at IS NOT NULL FROM emergency_modes WHERE id = ?').pluck().get(id) === 1
    );
  }

  /** The newest periods with the swipes each met (the entries keep them, identified, for the configured days). */
  history(limit = 20, now = Date.now()): EmergencyPeriod[] {
    const rows = this.db
      .prepare('SELECT * FROM emergency_modes ORDER BY id DESC LIMIT ?')
      .all(limit) as Row[];
    const count = this.db.prepare(
      `SELECT outcome, COUNT(*) AS n FROM entries WHERE ts >= ? AND ts < ? AND reason IN ('emergency_closed', 'allow_emergency') GROUP BY outcome`,
    );
    return rows.map((r) => {
      const end = Math.min(r.ended_at ?? r.until, r.until, now + 1);
      const attempts = { granted: 0, denied: 0 };
      for (const c of count.all(r.starts_at, end) as { outcome: 'granted' | 'denied'; n: number }[])
        attempts[c.outcome] = c.n;
      return { ...toState(r), setBy: r.set_by, endedAt: r.ended_at, endedBy: r.ended_by, attempts };
    });
  }
}

/**
 * `--until` as an admin writes it: a duration from now (`90m`, `4h`, `2d`), a local `YYYY-MM-DDTHH:MM` in the
 * site's zone, or an ISO time with its offset. Undefined when it is none of these.
 */
export function parseUntil(
  text: string,
  now: number,
  localToUtc: (date: string, time: string) => number | undefined,
): number | undefined {
  const value = text.trim();
  const duration = /^(\d{1,4})([mhd])$/.exec(value);
  if (duration)
    return now + Number(duration[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'm'];
  const local = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})$/.exec(value);
  if (local) return localToUtc(local[1]!, local[2]!);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const at = Date.parse(value);
    return Number.isNaN(at) ? undefined : at;
  }
  return undefined;
}
