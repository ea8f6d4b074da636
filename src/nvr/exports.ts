/**
 * Police exports and the legal holds they put on footage: a case is opened (its window held from purges
 * and an export request queued), renewed, closed, or expires; each step is audited. The agent's answers
 * move the case on (requested → exported or failed).
 */
import { randomUUID } from 'node:crypto';
import type { Alarms } from '../alarms/alarms.ts';
import { audit } from '../audit/audit.ts';
import {
  CAMERA_NAME_PATTERN,
  type ExportRequest,
  type ExportResponse,
  type HoldWindow,
  type nvrTopics,
} from '../contract/nvr.ts';
import {
  type ExportCase,
  type ExportOpenInput,
  ExportRefused,
  type ExportState,
} from '../contract/nvr-admin.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import type { NvrConfig } from './config.ts';
import { parseExportResponse } from './messages.ts';
import type { Outbox } from './outbox.ts';

interface ExportRow {
  id: string;
  case_number: string;
  authority: string;
  from_at: number;
  to_at: number;
  cameras: string;
  reason: string;
  state: ExportState;
  request_id: string | null;
  location: string | null;
  sha256: string | null;
  files: number | null;
  error: string | null;
  opened_by: string;
  opened_at: number;
  hold_expires_at: number;
  closed_at: number | null;
}

const DAY_MS = 86_400_000;
const ACTIVE_HOLD_STATES = "('held', 'requested', 'exported', 'failed')";
const CASE_NUMBER_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} ._/-]{0,63}$/u;
const cameraName = new RegExp(CAMERA_NAME_PATTERN);

export interface ExportCasesDeps {
  config: NvrConfig;
  db: Db;
  alarms: Alarms;
  log: Logger;
  nowMs: () => number;
  topics: ReturnType<typeof nvrTopics>;
  outbox: Outbox;
}

export class ExportCases {
  constructor(private readonly deps: ExportCasesDeps) {}

  open(input: ExportOpenInput): ExportCase {
    const { config, db, log, outbox } = this.deps;
    const now = this.deps.nowMs();
    const caseNumber = input.caseNumber?.trim() ?? '';
    const authority = input.authority?.trim() ?? '';
    const reason = input.reason?.trim() ?? '';
    const actor = input.actor?.trim() ?? '';
    if (!CASE_NUMBER_PATTERN.test(caseNumber)) {
      throw new ExportRefused(
        'case number is required (letters, digits, space . _ / -, at most 64 characters)',
      );
    }
    if (!authority) throw new ExportRefused('the requesting authority is required');
    if (!reason) throw new ExportRefused('a reason is required');
    if (!actor) throw new ExportRefused('the acting user is required');
    const from = parseTime(input.from, 'from');
    const to = parseTime(input.to, 'to');
    if (from >= to) throw new ExportRefused('the window must end after it starts', { code: 'order' });
    const cutoff = now - config.retention_days * DAY_MS;
    if (from < cutoff) {
      throw new ExportRefused(
        `footage before ${new Date(cutoff).toISOString()} (${config.retention_days} days ago) has already been deleted; ` +
          `the window starting ${new Date(from).toISOString()} cannot be exported — choose a window starting at or after that time`,
        {
          code: 'before_retention',
          cutoff: new Date(cutoff).toISOString(),
          from: new Date(from).toISOString(),
          days: config.retention_days,
        },
      );
    }
    const maxWindow = config.max_window_hours * 3_600_000;
    if (to - from > maxWindow) {
      const hours = Math.round(((to - from) / 3_600_000) * 10) / 10;
      throw new ExportRefused(
        `the window is ${hours} h wide, more than nvr.max_window_hours (${config.max_window_hours} h); ` +
          'open one export per narrower window',
        { code: 'too_wide', hours, max: config.max_window_hours },
      );
    }
    if (to > now + 60_000)
      throw new ExportRefused(`the window ends in the future (${input.to})`, {
        code: 'in_future',
        to: new Date(to).toISOString(),
      });
    // Camera names match whatever their case; the request carries the configured spelling.
    const cameras = [
      ...new Set(
        (input.cameras ?? []).map((camera) => {
          if (!cameraName.test(camera))
            throw new ExportRefused(`"${camera}" is not a valid camera name`, {
              code: 'unknown_camera',
              camera,
            });
          if (config.cameras.length === 0) return camera;
          const known = config.cameras.find((c) => c.toLowerCase() === camera.toLowerCase());
          if (known === undefined)
            throw new ExportRefused(`unknown camera "${camera}" (known: ${config.cameras.join(', ')})`, {
              code: 'unknown_camera',
              camera,
            });
          return known;
        }),
      ),
    ];

    const id = randomUUID();
    const requestId = randomUUID();
    const request: ExportRequest = {
      id: requestId,
      case: caseDirName(caseNumber, id),
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      cameras,
      ts: new Date(now).toISOString(),
    };
    const holdExpiresAt = now + config.hold_max_days * DAY_MS;
    db.transaction(() => {
      db.prepare(
        `INSERT INTO nvr_exports (id, case_number, authority, from_at, to_at, cameras, reason, state, request_id,
             opened_by, opened_at, hold_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, ?, ?)`,
      ).run(
        id,
        caseNumber,
        authority,
        from,
        to,
        JSON.stringify(cameras),
        reason,
        requestId,
        actor,
        now,
        holdExpiresAt,
      );
      outbox.insert(requestId, 'export', request, now);
      audit(
        db,
        {
          actor,
          action: 'nvr.export.open',
          subject: id,
          reason,
          detail: {
            caseNumber,
            authority,
            from: request.from,
            to: request.to,
            cameras,
            requestId,
            holdExpiresAt: new Date(holdExpiresAt).toISOString(),
          },
        },
        now,
      );
    })();
    log.info({ export: id, from: request.from, to: request.to }, 'nvr: export opened, window on hold');
    outbox.sendDue();
    return this.get(id);
  }

  close(id: string, actor: string, reason: string): ExportCase {
    const { db, log } = this.deps;
    const exp = this.requireOpen(id, actor, reason);
    const now = this.deps.nowMs();
    db.transaction(() => {
      db.prepare("UPDATE nvr_exports SET state = 'closed', closed_at = ? WHERE id = ?").run(now, exp.id);
      audit(
        db,
        { actor, action: 'nvr.export.close', subject: exp.id, reason, detail: { state: exp.state } },
        now,
      );
    })();
    log.info({ export: id }, 'nvr: export closed, hold ended');
    return this.get(id);
  }

  renewHold(id: string, actor: string, reason: string): ExportCase {
    const { config, db } = this.deps;
    const exp = this.requireOpen(id, actor, reason);
    const now = this.deps.nowMs();
    const until = now + config.hold_max_days * DAY_MS;
    db.transaction(() => {
      db.prepare('UPDATE nvr_exports SET hold_expires_at = ? WHERE id = ?').run(until, exp.id);
      audit(
        db,
        {
          actor,
          action: 'nvr.hold.renew',
          subject: exp.id,
          reason,
          detail: { until: new Date(until).toISOString() },
        },
        now,
      );
    })();
    return this.get(id);
  }

  list(): ExportCase[] {
    this.expireHolds();
    const rows = this.deps.db
      .prepare('SELECT * FROM nvr_exports ORDER BY opened_at DESC, id')
      .all() as ExportRow[];
    return rows.map(toCase);
  }

  get(id: string): ExportCase {
    const row = this.deps.db.prepare('SELECT * FROM nvr_exports WHERE id = ?').get(id) as
      | ExportRow
      | undefined;
    if (!row) throw new ExportRefused(`no export case with id ${id}`);
    return toCase(row);
  }

  /** The held windows a purge must keep, as the request carries them. */
  activeHolds(now: number): HoldWindow[] {
    const rows = this.deps.db
      .prepare(
        `SELECT id, case_number, from_at, to_at, cameras FROM nvr_exports WHERE closed_at IS NULL AND state IN ${ACTIVE_HOLD_STATES} AND hold_expires_at > ? ORDER BY from_at`,
      )
      .all(now) as { id: string; case_number: string; from_at: number; to_at: number; cameras: string }[];
    return rows.map((r) => ({
      from: new Date(r.from_at).toISOString(),
      to: new Date(r.to_at).toISOString(),
      cameras: JSON.parse(r.cameras) as string[],
      // Recomputed as openExport named it: the agent learns from this which export folders are still open.
      case: caseDirName(r.case_number, r.id),
    }));
  }

  /** Holds past their end become `expired` (audited); the next purge no longer carries them. */
  expireHolds(): void {
    const { db, log } = this.deps;
    const now = this.deps.nowMs();
    const due = db
      .prepare(
        `SELECT id, hold_expires_at FROM nvr_exports WHERE closed_at IS NULL AND state IN ${ACTIVE_HOLD_STATES} AND hold_expires_at <= ?`,
      )
      .all(now) as { id: string; hold_expires_at: number }[];
    for (const row of due) {
      db.transaction(() => {
        db.prepare("UPDATE nvr_exports SET state = 'expired', closed_at = ? WHERE id = ?").run(now, row.id);
        audit(
          db,
          {
            actor: 'system',
            action: 'nvr.hold.expired',
            subject: row.id,
            detail: { holdExpiresAt: new Date(row.hold_expires_at).toISOString() },
          },
          now,
        );
      })();
      log.info({ export: row.id }, 'nvr: hold expired');
    }
  }

  /** The agent's answer to an export request: `accepted`, then `done` or `failed`. */
  answer(payload: Buffer): void {
    const { db, log, outbox } = this.deps;
    const parsed = parseExportResponse(payload);
    if (!parsed.ok) {
      log.warn({ topic: this.deps.topics.exportResponse, why: parsed.why }, 'nvr: export response rejected');
      return;
    }
    const answer: ExportResponse = parsed.value;
    const row = outbox.requestFor('export', answer.id);
    if (row === 'unknown') {
      log.warn({ id: answer.id }, 'nvr: export response for an unknown request ignored');
      return;
    }
    this.deps.alarms.clear('nvr_unreachable');
    if (row === 'duplicate') {
      log.debug({ id: answer.id }, 'nvr: duplicate export response ignored');
      return;
    }
    const now = this.deps.nowMs();
    const exp = db.prepare('SELECT * FROM nvr_exports WHERE request_id = ?').get(row.id) as
      | ExportRow
      | undefined;
    if (answer.state === 'accepted') {
      if (row.accepted_at !== null) return;
      outbox.markAccepted(row.id, now);
      if (exp?.state === 'held')
        db.prepare("UPDATE nvr_exports SET state = 'requested' WHERE id = ?").run(exp.id);
      if (exp) audit(db, { actor: 'system', action: 'nvr.export.accepted', subject: exp.id }, now);
      return;
    }
    if (answer.state === 'done' && !(answer.ok && answer.location && answer.sha256)) {
      log.warn({ id: answer.id }, 'nvr: export "done" without location and sha256 rejected');
      return;
    }
    if (answer.state === 'done') {
      const caseDir = (JSON.parse(row.payload) as ExportRequest).case;
      if (!inCaseDir(answer.location ?? '', caseDir)) {
        log.warn({ id: answer.id, case: caseDir }, 'nvr: export "done" outside the case directory rejected');
        return;
      }
    }
    db.transaction(() => {
      outbox.markAnswered(row.id, answer, now);
      if (!exp) return;
      const stillOpen = exp.closed_at === null && exp.state !== 'expired';
      if (answer.state === 'done') {
        db.prepare(
          'UPDATE nvr_exports SET state = ?, location = ?, sha256 = ?, files = ?, error = NULL WHERE id = ?',
        ).run(
          stillOpen ? 'exported' : exp.state,
          answer.location,
          answer.sha256,
          answer.files ?? null,
          exp.id,
        );
        audit(
          db,
          {
            actor: 'system',
            action: 'nvr.export.done',
            subject: exp.id,
            detail: { location: answer.location, sha256: answer.sha256, files: answer.files ?? null },
          },
          now,
        );
      } else {
        db.prepare('UPDATE nvr_exports SET state = ?, error = ? WHERE id = ?').run(
          stillOpen ? 'failed' : exp.state,
          answer.error ?? 'export failed',
          exp.id,
        );
        audit(
          db,
          { actor: 'system', action: 'nvr.export.failed', subject: exp.id, reason: answer.error },
          now,
        );
      }
    })();
    log.info({ id: row.id, state: answer.state, files: answer.files }, 'nvr: export answered');
  }

  private requireOpen(id: string, actor: string, reason: string): ExportRow {
    if (!actor?.trim()) throw new ExportRefused('the acting user is required');
    if (!reason?.trim()) throw new ExportRefused('a reason is required');
    this.expireHolds();
    const row = this.deps.db.prepare('SELECT * FROM nvr_exports WHERE id = ?').get(id) as
      | ExportRow
      | undefined;
    if (!row) throw new ExportRefused(`no export case with id ${id}`);
    if (row.state === 'closed' || row.state === 'expired') {
      throw new ExportRefused(`export case ${id} is already ${row.state}`);
    }
    return row;
  }
}

/** An export's location must be the case directory the request named: `…/<case>`. */
export function inCaseDir(location: string, caseDir: string): boolean {
  const trimmed = location.replace(/\/+$/, '');
  if (trimmed.split('/').some((part) => part === '..' || part === '.')) return false;
  return trimmed.endsWith(`/${caseDir}`);
}

/** `exports/<case>/` on the recorder: ASCII-safe, starting with a letter or digit, unique per case id. */
export function caseDirName(caseNumber: string, id: string): string {
  const safe = caseNumber.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return `${safe || 'case'}_${id.slice(0, 8)}`;
}

function parseTime(value: string, what: string): number {
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms))
    throw new ExportRefused(`"${what}" must be an ISO-8601 time, e.g. 2026-11-26T08:00:00Z`);
  return ms;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function toCase(row: ExportRow): ExportCase {
  return {
    id: row.id,
    caseNumber: row.case_number,
    authority: row.authority,
    from: new Date(row.from_at).toISOString(),
    to: new Date(row.to_at).toISOString(),
    cameras: JSON.parse(row.cameras) as string[],
    reason: row.reason,
    state: row.state,
    location: row.location,
    sha256: row.sha256,
    files: row.files,
    error: row.error,
    openedBy: row.opened_by,
    openedAt: new Date(row.opened_at).toISOString(),
    holdExpiresAt: new Date(row.hold_expires_at).toISOString(),
    closedAt: iso(row.closed_at),
  };
}
