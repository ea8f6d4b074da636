/**
 * Controller side of camera retention: scheduled purge requests, verification of the answers and of the
 * recorder's retained status, legal holds and police exports. Requests go through an SQLite outbox, so
 * a broker outage or a restart never loses one, and a second process (the CLI) can queue work that the
 * running service then sends.
 */
import { randomUUID } from 'node:crypto';
import type { IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import cron, { type ScheduledTask } from 'node-cron';
import type { Alarms } from '../alarms/alarms.ts';
import { audit } from '../audit/audit.ts';
import {
  CAMERA_NAME_PATTERN,
  type ExportRequest,
  type ExportResponse,
  type HoldWindow,
  type NvrStatus,
  nvrTopics,
  type PurgeRequest,
  type PurgeResponse,
} from '../contract/nvr.ts';
import { FORGERY_REASONS, NvrAuth, type NvrKey, type NvrRejectReason } from '../contract/nvr-auth.ts';
import {
  type ExportCase,
  type ExportOpenInput,
  ExportRefused,
  type ExportState,
  type NvrAdmin,
  type RetentionHealth,
} from '../contract/nvr-admin.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import type { NvrConfig } from './config.ts';
import { parseExportResponse, parseNvrStatus, parsePurgeResponse } from './messages.ts';

export interface NvrControllerDeps {
  config: NvrConfig;
  db: Db;
  /** The service's connected client; null in a process that only queues work (the CLI). */
  mqtt: MqttClient | null;
  alarms: Alarms;
  log: Logger;
  now?: () => Date;
  /** How often due resends, hold expiry and the status age are checked (default from answer_timeout_ms). */
  tickMs?: number;
  /** Keys shared with the agent (`readNvrKeys`); required with an MQTT client. */
  keys?: NvrKey[];
  /** Called for every dropped message (metrics `dorvakt_nvr_rejected_total`). */
  onRejected?: (reason: NvrRejectReason) => void;
  /** Called after each purge answer has been checked (metrics, the benchmark). */
  onPurgeVerified?: (result: PurgeVerified) => void;
}

export interface PurgeVerified {
  id: string;
  ok: boolean;
  deleted: number;
  oldest: string | null;
  /** Why it counts as a breach, or null. */
  breach: string | null;
  /** From the request being stored to the answer being checked. */
  roundTripMs: number;
}

interface OutboxRow {
  id: string;
  kind: 'purge' | 'export';
  payload: string;
  created_at: number;
  tries: number;
  last_sent_at: number | null;
  next_try_at: number;
  accepted_at: number | null;
  answered_at: number | null;
}

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

/** The last verified purge, kept in nvr_state so a restart neither forgets nor invents a breach. */
interface PurgeRecord {
  requestId: string;
  requestedAt: number;
  answeredAt: number;
  ok: boolean;
  deleted: number;
  oldest: string | null;
  breach: string | null;
}

const DAY_MS = 86_400_000;
/** Alarm details are shown whole on the dashboard and sent over MQTT: keep them readable. */
const MAX_BREACH_DETAIL = 2000;
const ACTIVE_HOLD_STATES = "('held', 'requested', 'exported', 'failed')";
const CASE_NUMBER_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} ._/-]{0,63}$/u;
const cameraName = new RegExp(CAMERA_NAME_PATTERN);

export class NvrController implements NvrAdmin {
  private readonly config: NvrConfig;
  private readonly db: Db;
  private readonly mqtt: MqttClient | null;
  private readonly alarms: Alarms;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly topics: ReturnType<typeof nvrTopics>;
  private readonly tickMs: number;
  private cronTask: ScheduledTask | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private statusBreach: string | null = null;
  /** The findings of the last status, one line each (`<kind>: <detail>`), as the alarm detail shows them. */
  private findingLines: string[] = [];
  private readonly onPurgeVerified: ((result: PurgeVerified) => void) | undefined;
  private readonly onRejected: ((reason: NvrRejectReason) => void) | undefined;
  private readonly auth: NvrAuth | null;
  private running = false;

  constructor(deps: NvrControllerDeps) {
    this.config = deps.config;
    this.db = deps.db;
    this.mqtt = deps.mqtt;
    this.alarms = deps.alarms;
    this.log = deps.log.child({ mod: 'nvr' });
    this.now = deps.now ?? (() => new Date());
    this.topics = nvrTopics(this.config.base_topic);
    this.onPurgeVerified = deps.onPurgeVerified;
    this.onRejected = deps.onRejected;
    this.auth =
      deps.keys && deps.keys.length > 0
        ? new NvrAuth({
            keys: deps.keys,
            maxSkewSeconds: this.config.auth?.max_skew_seconds,
            now: this.now,
          })
        : null;
    // Nothing goes on the broker unsigned, and nothing unsigned is believed.
    if (this.mqtt && !this.auth) throw new Error('nvr: keys are required to talk to the recorder (nvr.auth)');
    this.tickMs = deps.tickMs ?? Math.min(1000, Math.max(20, Math.floor(this.config.answer_timeout_ms / 4)));
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    this.running = true;
    if (this.mqtt) {
      this.mqtt.on('message', this.onMessage);
      this.mqtt.on('connect', this.onConnect);
      if (this.mqtt.connected) this.onConnect();
    }
    this.cronTask = cron.schedule(
      this.config.purge_cron,
      () => {
        try {
          this.purgeNow();
        } catch (error) {
          this.log.error({ err: (error as Error).message }, 'nvr: could not queue the purge request');
        }
      },
      { name: 'nvr-purge', noOverlap: true },
    );
    this.ticker = setInterval(() => this.tick(), this.tickMs);
    this.ticker.unref();
    this.tick();
    this.updateBreachAlarm();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    if (this.cronTask) await this.cronTask.destroy();
    this.cronTask = null;
    if (this.mqtt) {
      this.mqtt.off('message', this.onMessage);
      this.mqtt.off('connect', this.onConnect);
      if (this.mqtt.connected) {
        await this.mqtt
          .unsubscribeAsync([this.topics.purgeResponse, this.topics.exportResponse, this.topics.status])
          .catch(() => undefined);
      }
    }
  }

  /** Subscribes (again: a clean session forgets) and sends everything unanswered at once. */
  private readonly onConnect = (): void => {
    const mqtt = this.mqtt;
    if (!mqtt) return;
    // Small request/answer messages: Nagle's algorithm would hold each one for a delayed ACK (~40 ms).
    (mqtt.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    mqtt.subscribe(
      [this.topics.purgeResponse, this.topics.exportResponse, this.topics.status],
      { qos: 1 },
      (err) => {
        if (err) this.log.error({ err: err.message }, 'nvr: subscribe failed');
        // Resend after the subscription is in place, so a quick answer is not missed.
        if (!this.running) return;
        try {
          this.resendAll();
        } catch (error) {
          this.log.error({ err: (error as Error).message }, 'nvr: resend failed');
        }
      },
    );
  };

  private resendAll(): void {
    // Accepted exports are included: the agent answers `done` again if that answer was lost meanwhile.
    this.db
      .prepare('UPDATE nvr_outbox SET next_try_at = ? WHERE answered_at IS NULL AND superseded_at IS NULL')
      .run(this.nowMs());
    this.sendDue();
  }

  /** Periodic work; public so a caller (or a test) can run it on demand. */
  tick(): void {
    try {
      this.expireHolds();
      this.sendDue();
      this.checkStatusAge();
      this.checkForgeryQuiet();
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'nvr: tick failed');
    }
  }

  // ---------------------------------------------------------------- purge

  /** Queues a purge request (superseding unanswered older ones) and sends it when connected. Returns its id. */
  purgeNow(): string {
    const now = this.nowMs();
    const request: PurgeRequest = {
      id: randomUUID(),
      before: new Date(now - this.config.retention_days * DAY_MS).toISOString(),
      cameras: [...this.config.cameras],
      holds: this.activeHolds(now),
      ts: new Date(now).toISOString(),
    };
    this.db.transaction(() => {
      // A newer purge covers everything an older unanswered one asked for.
      this.db
        .prepare(
          "UPDATE nvr_outbox SET superseded_at = ? WHERE kind = 'purge' AND answered_at IS NULL AND superseded_at IS NULL",
        )
        .run(now);
      this.insertOutbox(request.id, 'purge', request, now);
    })();
    this.log.info(
      { id: request.id, before: request.before, holds: request.holds.length },
      'nvr: purge requested',
    );
    this.sendDue();
    return request.id;
  }

  private activeHolds(now: number): HoldWindow[] {
    const rows = this.db
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

  // ---------------------------------------------------------------- outbox

  private insertOutbox(
    id: string,
    kind: 'purge' | 'export',
    payload: PurgeRequest | ExportRequest,
    now: number,
  ): void {
    this.db
      .prepare('INSERT INTO nvr_outbox (id, kind, payload, created_at, next_try_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, kind, JSON.stringify(payload), now, now);
  }

  private delayAfter(tries: number): number {
    const { answer_timeout_ms, backoff } = this.config;
    return Math.min(answer_timeout_ms * backoff.factor ** Math.max(0, tries - 1), backoff.max_ms);
  }

  /**
   * Sends every due request; one that stayed unanswered after max_tries sends raises nvr_unreachable.
   * `queue` runs in the same transaction first, so storing a new request and marking it sent cost one commit.
   */
  private sendDue(queue?: () => void): void {
    const connected = this.mqtt?.connected === true;
    const now = this.nowMs();
    const silent: OutboxRow[] = [];
    const toSend = this.db.transaction((): OutboxRow[] => {
      queue?.();
      if (!connected) return [];
      const due = this.db
        .prepare(
          'SELECT * FROM nvr_outbox WHERE answered_at IS NULL AND superseded_at IS NULL AND next_try_at <= ? ORDER BY created_at',
        )
        .all(now) as OutboxRow[];
      const update = this.db.prepare(
        'UPDATE nvr_outbox SET tries = ?, last_sent_at = ?, next_try_at = ? WHERE id = ?',
      );
      for (const row of due) {
        if (row.accepted_at !== null) {
          // A long export: ask now and then, so a restarted agent picks it up again. Not a sign of silence.
          update.run(row.tries, row.last_sent_at, now + this.config.backoff.max_ms, row.id);
          continue;
        }
        if (row.tries >= this.config.max_tries) silent.push(row);
        update.run(row.tries + 1, now, now + this.delayAfter(row.tries + 1), row.id);
      }
      return due;
    })();
    for (const row of silent) {
      this.alarms.raise(
        'nvr_unreachable',
        '',
        `no answer to ${row.kind} request ${row.id} after ${row.tries} tries`,
      );
    }
    for (const row of toSend) this.publish(row);
  }

  private publish(row: OutboxRow): void {
    const mqtt = this.mqtt;
    if (!mqtt || !this.auth) return;
    const topic = row.kind === 'purge' ? this.topics.purgeRequest : this.topics.exportRequest;
    // Sealed at send time: every resend carries a fresh ts and nonce; the outbox keeps the plain body.
    const sealed = this.auth.seal(topic, JSON.parse(row.payload) as object);
    const options: IClientPublishOptions = { qos: 1, retain: false };
    if (mqtt.options.protocolVersion === 5) {
      options.properties = {
        responseTopic: row.kind === 'purge' ? this.topics.purgeResponse : this.topics.exportResponse,
        correlationData: Buffer.from(row.id),
        messageExpiryInterval: 86_400,
      };
    }
    mqtt.publish(topic, sealed, options, (err) => {
      if (err) this.log.warn({ id: row.id, err: err.message }, 'nvr: publish failed; will resend');
    });
  }

  // ---------------------------------------------------------------- answers

  private readonly onMessage = (topic: string, payload: Buffer, packet?: IPublishPacket): void => {
    try {
      const mine = [this.topics.purgeResponse, this.topics.exportResponse, this.topics.status];
      if (!mine.includes(topic) || !this.auth) return;
      // An empty retained payload is how a retained status is deleted; it carries nothing to believe.
      if (topic === this.topics.status && payload.length === 0) return;
      const opened = this.auth.open(topic, payload, { dup: packet?.dup, retain: packet?.retain });
      if (!opened.ok) {
        this.reject(topic, opened.reason, opened.why);
        return;
      }
      // The strict schemas see exactly the authenticated body.
      const body = Buffer.from(JSON.stringify(opened.body), 'utf8');
      if (topic === this.topics.purgeResponse) this.onPurgeResponse(body);
      else if (topic === this.topics.exportResponse) this.onExportResponse(body);
      else this.onStatus(body, { at: opened.ts, nonce: opened.nonce }, packet?.retain === true);
    } catch (error) {
      this.log.error({ topic, err: (error as Error).message }, 'nvr: handling a message failed');
    }
  };

  private findRequest(id: string, kind: 'purge' | 'export'): OutboxRow | undefined {
    return this.db.prepare('SELECT * FROM nvr_outbox WHERE id = ? AND kind = ?').get(id, kind) as
      | OutboxRow
      | undefined;
  }

  private onPurgeResponse(payload: Buffer): void {
    const parsed = parsePurgeResponse(payload);
    if (!parsed.ok) {
      this.log.warn({ topic: this.topics.purgeResponse, why: parsed.why }, 'nvr: purge response rejected');
      return;
    }
    const answer: PurgeResponse = parsed.value;
    const row = this.findRequest(answer.id, 'purge');
    if (!row) {
      this.log.warn({ id: answer.id }, 'nvr: purge response for an unknown request ignored');
      return;
    }
    if (row.answered_at !== null) {
      this.log.debug({ id: answer.id }, 'nvr: duplicate purge response ignored');
      return;
    }
    const now = this.nowMs();
    const request = JSON.parse(row.payload) as PurgeRequest;
    let breach: string | null = null;
    if (!answer.ok) breach = `the recorder could not purge: ${answer.error ?? 'no reason given'}`;
    else if (answer.oldest) {
      const limit = Date.parse(request.before) - this.config.breach_tolerance_minutes * 60_000;
      if (Date.parse(answer.oldest) < limit) {
        breach = `footage from ${answer.oldest} is left after a purge before ${request.before}`;
      }
    }
    const current = this.db.transaction((): boolean => {
      this.db
        .prepare('UPDATE nvr_outbox SET answered_at = ?, answer = ? WHERE id = ?')
        .run(now, JSON.stringify(answer), row.id);
      // A late answer to an older request says nothing about the present.
      const previous = this.readState<PurgeRecord>('purge');
      if (previous && previous.requestedAt > row.created_at) return false;
      const record: PurgeRecord = {
        requestId: row.id,
        requestedAt: row.created_at,
        answeredAt: now,
        ok: answer.ok,
        deleted: answer.deleted,
        oldest: answer.oldest,
        breach,
      };
      this.writeState('purge', record);
      return true;
    })();
    this.alarms.clear('nvr_unreachable');
    this.log.info(
      { id: row.id, deleted: answer.deleted, oldest: answer.oldest, ok: answer.ok, current },
      'nvr: purge answered',
    );
    if (!current) return;
    this.updateBreachAlarm();
    this.onPurgeVerified?.({
      id: row.id,
      ok: answer.ok,
      deleted: answer.deleted,
      oldest: answer.oldest,
      breach,
      roundTripMs: now - row.created_at,
    });
  }

  private onExportResponse(payload: Buffer): void {
    const parsed = parseExportResponse(payload);
    if (!parsed.ok) {
      this.log.warn({ topic: this.topics.exportResponse, why: parsed.why }, 'nvr: export response rejected');
      return;
    }
    const answer: ExportResponse = parsed.value;
    const row = this.findRequest(answer.id, 'export');
    if (!row) {
      this.log.warn({ id: answer.id }, 'nvr: export response for an unknown request ignored');
      return;
    }
    this.alarms.clear('nvr_unreachable');
    if (row.answered_at !== null) {
      this.log.debug({ id: answer.id }, 'nvr: duplicate export response ignored');
      return;
    }
    const now = this.nowMs();
    const exp = this.db.prepare('SELECT * FROM nvr_exports WHERE request_id = ?').get(row.id) as
      | ExportRow
      | undefined;
    if (answer.state === 'accepted') {
      if (row.accepted_at !== null) return;
      this.db
        .prepare('UPDATE nvr_outbox SET accepted_at = ?, next_try_at = ? WHERE id = ?')
        .run(now, now + this.config.backoff.max_ms, row.id);
      if (exp?.state === 'held')
        this.db.prepare("UPDATE nvr_exports SET state = 'requested' WHERE id = ?").run(exp.id);
      if (exp) audit(this.db, { actor: 'system', action: 'nvr.export.accepted', subject: exp.id }, now);
      return;
    }
    if (answer.state === 'done' && !(answer.ok && answer.location && answer.sha256)) {
      this.log.warn({ id: answer.id }, 'nvr: export "done" without location and sha256 rejected');
      return;
    }
    if (answer.state === 'done') {
      const caseDir = (JSON.parse(row.payload) as ExportRequest).case;
      if (!inCaseDir(answer.location ?? '', caseDir)) {
        this.log.warn(
          { id: answer.id, case: caseDir },
          'nvr: export "done" outside the case directory rejected',
        );
        return;
      }
    }
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE nvr_outbox SET answered_at = ?, answer = ? WHERE id = ?')
        .run(now, JSON.stringify(answer), row.id);
      if (!exp) return;
      const stillOpen = exp.closed_at === null && exp.state !== 'expired';
      if (answer.state === 'done') {
        this.db
          .prepare(
            'UPDATE nvr_exports SET state = ?, location = ?, sha256 = ?, files = ?, error = NULL WHERE id = ?',
          )
          .run(
            stillOpen ? 'exported' : exp.state,
            answer.location,
            answer.sha256,
            answer.files ?? null,
            exp.id,
          );
        audit(
          this.db,
          {
            actor: 'system',
            action: 'nvr.export.done',
            subject: exp.id,
            detail: { location: answer.location, sha256: answer.sha256, files: answer.files ?? null },
          },
          now,
        );
      } else {
        this.db
          .prepare('UPDATE nvr_exports SET state = ?, error = ? WHERE id = ?')
          .run(stillOpen ? 'failed' : exp.state, answer.error ?? 'export failed', exp.id);
        audit(
          this.db,
          { actor: 'system', action: 'nvr.export.failed', subject: exp.id, reason: answer.error },
          now,
        );
      }
    })();
    this.log.info({ id: row.id, state: answer.state, files: answer.files }, 'nvr: export answered');
  }

  private onStatus(payload: Buffer, signed: { at: number; nonce: string }, retained: boolean): void {
    const parsed = parseNvrStatus(payload);
    if (!parsed.ok) {
      this.log.warn({ topic: this.topics.status, why: parsed.why }, 'nvr: status rejected');
      return;
    }
    const previous = this.readState<StoredStatus>('status');
    // An older status never replaces a newer one (nor clears a breach the newer one shows).
    const last = previous?.signed ?? { at: Number.NEGATIVE_INFINITY, nonce: '' };
    if (signed.at < last.at || (signed.at === last.at && signed.nonce === last.nonce)) {
      this.reject(
        this.topics.status,
        retained ? 'stale' : 'replay',
        'status not newer than the last one accepted',
      );
      return;
    }
    this.writeState('status', { ...parsed.value, receivedAt: this.nowMs(), signed });
    this.checkAgentRejections(previous?.rejected, parsed.value.rejected);
    this.checkStatusAge();
  }

  // ---------------------------------------------------------------- forgery

  private reject(topic: string, reason: NvrRejectReason, why: string): void {
    // Never the payload: it may be an attacker's, and the log is not the place to keep it.
    this.log.warn({ topic, reason, why }, 'nvr: message dropped');
    this.onRejected?.(reason);
    if (FORGERY_REASONS.has(reason)) this.raiseForgery(`${reason} on ${topic}: ${why}`);
  }

  private raiseForgery(detail: string): void {
    this.writeState('forgery', { lastAt: this.nowMs(), detail });
    this.alarms.raise('nvr_forgery', '', detail);
  }

  /** The agent has no alarms: its counts of forgeries growing in its status raise ours. */
  private checkAgentRejections(
    before: Record<string, number> | undefined,
    now: Record<string, number> | undefined,
  ): void {
    for (const [reason, count] of Object.entries(now ?? {})) {
      if (!FORGERY_REASONS.has(reason)) continue;
      const old = before?.[reason] ?? 0;
      // A lower count means the agent restarted: everything it counts now is new.
      const grew = count < old ? count > 0 : count > old;
      if (grew)
        this.raiseForgery(`the recorder agent dropped messages: ${reason} (${count} since its start)`);
    }
  }

  /** No clear-on-acknowledge exists in Alarms, so `nvr_forgery` clears after a quiet period. */
  private checkForgeryQuiet(): void {
    if (!this.alarms.isActive('nvr_forgery')) return;
    const last = this.readState<{ lastAt: number }>('forgery')?.lastAt ?? 0;
    const quietMs = (this.config.auth?.forgery_quiet_hours ?? 24) * 3_600_000;
    if (this.nowMs() - last >= quietMs) this.alarms.clear('nvr_forgery');
  }

  /** The recorder's status ages while nothing purges it, so this runs on every tick too. */
  private checkStatusAge(): void {
    const status = this.readState<NvrStatus>('status');
    let breach: string | null = null;
    if (status?.oldest) {
      const limit =
        this.nowMs() - this.config.retention_days * DAY_MS - this.config.status_grace_minutes * 60_000;
      if (Date.parse(status.oldest) < limit) {
        breach = `the recorder reports footage from ${status.oldest}, older than ${this.config.retention_days} days`;
      }
    }
    // Every compliance finding is a breach of its own kind; the agent drops a finding once it is resolved.
    const findings = (status?.findings ?? []).map(
      (f) =>
        `${f.kind}: ${f.camera && !f.detail.includes(f.camera) ? `camera ${f.camera}: ` : ''}${f.detail}`,
    );
    if (breach !== this.statusBreach || JSON.stringify(findings) !== JSON.stringify(this.findingLines)) {
      this.statusBreach = breach;
      this.findingLines = findings;
      this.updateBreachAlarm();
    }
  }

  private updateBreachAlarm(): void {
    const purgeBreach = this.readState<PurgeRecord>('purge')?.breach ?? null;
    const recordings = purgeBreach ?? this.statusBreach;
    const causes = [...(recordings ? [`recordings: ${recordings}`] : []), ...this.findingLines];
    if (causes.length === 0) {
      this.alarms.clear('retention_breach');
      this.writeState('breach', { kinds: '' });
      return;
    }
    // The alarm keeps the detail it was raised with: when the kinds of cause change it is raised anew, so the
    // detail names every current kind (changing counts or dates alone do not).
    const kinds = [...new Set(causes.map((c) => c.slice(0, c.indexOf(':'))))].sort().join(',');
    const previous = this.readState<{ kinds: string }>('breach')?.kinds;
    if (this.alarms.isActive('retention_breach') && previous !== undefined && previous !== kinds) {
      this.alarms.clear('retention_breach');
    }
    let detail = causes.join('; ');
    if (detail.length > MAX_BREACH_DETAIL) detail = `${detail.slice(0, MAX_BREACH_DETAIL - 1)}…`;
    this.alarms.raise('retention_breach', '', detail);
    this.writeState('breach', { kinds });
  }

  // ---------------------------------------------------------------- exports and holds (NvrAdmin)

  openExport(input: ExportOpenInput): ExportCase {
    const now = this.nowMs();
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
    if (from >= to) throw new ExportRefused('the window must end after it starts');
    const cutoff = now - this.config.retention_days * DAY_MS;
    if (from < cutoff) {
      throw new ExportRefused(
        `footage before ${new Date(cutoff).toISOString()} (${this.config.retention_days} days ago) has already been deleted; ` +
          `the window starting ${new Date(from).toISOString()} cannot be exported — choose a window starting at or after that time`,
      );
    }
    const maxWindow = this.config.max_window_hours * 3_600_000;
    if (to - from > maxWindow) {
      const hours = Math.round(((to - from) / 3_600_000) * 10) / 10;
      throw new ExportRefused(
        `the window is ${hours} h wide, more than nvr.max_window_hours (${this.config.max_window_hours} h); ` +
          'open one export per narrower window',
      );
    }
    if (to > now + 60_000) throw new ExportRefused(`the window ends in the future (${input.to})`);
    const cameras = [...new Set(input.cameras ?? [])];
    for (const camera of cameras) {
      if (!cameraName.test(camera)) throw new ExportRefused(`"${camera}" is not a valid camera name`);
      if (this.config.cameras.length > 0 && !this.config.cameras.includes(camera)) {
        throw new ExportRefused(`unknown camera "${camera}" (known: ${this.config.cameras.join(', ')})`);
      }
    }

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
    const holdExpiresAt = now + this.config.hold_max_days * DAY_MS;
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO nvr_exports (id, case_number, authority, from_at, to_at, cameras, reason, state, request_id,
             opened_by, opened_at, hold_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, ?, ?)`,
        )
        .run(
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
      this.insertOutbox(requestId, 'export', request, now);
      audit(
        this.db,
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
    this.log.info({ export: id, from: request.from, to: request.to }, 'nvr: export opened, window on hold');
    this.sendDue();
    return this.getExport(id);
  }

  closeExport(id: string, actor: string, reason: string): ExportCase {
    const exp = this.requireOpen(id, actor, reason);
    const now = this.nowMs();
    this.db.transaction(() => {
      this.db.prepare("UPDATE nvr_exports SET state = 'closed', closed_at = ? WHERE id = ?").run(now, exp.id);
      audit(
        this.db,
        { actor, action: 'nvr.export.close', subject: exp.id, reason, detail: { state: exp.state } },
        now,
      );
    })();
    this.log.info({ export: id }, 'nvr: export closed, hold ended');
    return this.getExport(id);
  }

  renewHold(id: string, actor: string, reason: string): ExportCase {
    const exp = this.requireOpen(id, actor, reason);
    const now = this.nowMs();
    const until = now + this.config.hold_max_days * DAY_MS;
    this.db.transaction(() => {
      this.db.prepare('UPDATE nvr_exports SET hold_expires_at = ? WHERE id = ?').run(until, exp.id);
      audit(
        this.db,
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
    return this.getExport(id);
  }

  listExports(): ExportCase[] {
    this.expireHolds();
    const rows = this.db
      .prepare('SELECT * FROM nvr_exports ORDER BY opened_at DESC, id')
      .all() as ExportRow[];
    return rows.map(toCase);
  }

  getExport(id: string): ExportCase {
    const row = this.db.prepare('SELECT * FROM nvr_exports WHERE id = ?').get(id) as ExportRow | undefined;
    if (!row) throw new ExportRefused(`no export case with id ${id}`);
    return toCase(row);
  }

  private requireOpen(id: string, actor: string, reason: string): ExportRow {
    if (!actor?.trim()) throw new ExportRefused('the acting user is required');
    if (!reason?.trim()) throw new ExportRefused('a reason is required');
    this.expireHolds();
    const row = this.db.prepare('SELECT * FROM nvr_exports WHERE id = ?').get(id) as ExportRow | undefined;
    if (!row) throw new ExportRefused(`no export case with id ${id}`);
    if (row.state === 'closed' || row.state === 'expired') {
      throw new ExportRefused(`export case ${id} is already ${row.state}`);
    }
    return row;
  }

  /** Holds past their end become `expired` (audited); the next purge no longer carries them. */
  private expireHolds(): void {
    const now = this.nowMs();
    const due = this.db
      .prepare(
        `SELECT id, hold_expires_at FROM nvr_exports WHERE closed_at IS NULL AND state IN ${ACTIVE_HOLD_STATES} AND hold_expires_at <= ?`,
      )
      .all(now) as { id: string; hold_expires_at: number }[];
    for (const row of due) {
      this.db.transaction(() => {
        this.db
          .prepare("UPDATE nvr_exports SET state = 'expired', closed_at = ? WHERE id = ?")
          .run(now, row.id);
        audit(
          this.db,
          {
            actor: 'system',
            action: 'nvr.hold.expired',
            subject: row.id,
            detail: { holdExpiresAt: new Date(row.hold_expires_at).toISOString() },
          },
          now,
        );
      })();
      this.log.info({ export: row.id }, 'nvr: hold expired');
    }
  }

  // ---------------------------------------------------------------- health

  health(): RetentionHealth {
    const purge = this.readState<PurgeRecord>('purge');
    const status = this.readState<NvrStatus & { receivedAt: number }>('status');
    const last = this.db
      .prepare("SELECT MAX(created_at) AS at FROM nvr_outbox WHERE kind = 'purge'")
      .get() as { at: number | null };
    const pending = this.db
      .prepare('SELECT COUNT(*) AS n FROM nvr_outbox WHERE answered_at IS NULL AND superseded_at IS NULL')
      .get() as { n: number };
    // The newer of the two reports wins for "oldest".
    const statusNewer = status && (!purge || status.receivedAt >= purge.answeredAt);
    return {
      retentionDays: this.config.retention_days,
      lastPurgeRequestAt: iso(last.at),
      lastPurgeAnsweredAt: iso(purge?.answeredAt ?? null),
      lastPurgeDeleted: purge?.deleted ?? null,
      oldest: statusNewer ? status.oldest : (purge?.oldest ?? status?.oldest ?? null),
      cameras: withConfigured(status?.cameras ?? [], this.config.cameras),
      statusAt: status?.ts ?? null,
      breach: this.alarms.isActive('retention_breach'),
      unreachable: this.alarms.isActive('nvr_unreachable'),
      forgery: this.alarms.isActive('nvr_forgery'),
      pendingRequests: pending.n,
      findings: status?.findings ?? [],
      skipped: status?.skipped ?? [],
      recorder: status?.recorder ?? null,
    };
  }

  // ---------------------------------------------------------------- helpers

  private nowMs(): number {
    return this.now().getTime();
  }

  private readState<T>(key: string): T | null {
    const row = this.db.prepare('SELECT value FROM nvr_state WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row ? (JSON.parse(row.value) as T) : null;
  }

  private writeState(key: string, value: unknown): void {
    this.db
      .prepare(
        'INSERT INTO nvr_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, JSON.stringify(value));
  }
}

type StoredStatus = NvrStatus & { receivedAt: number; signed?: { at: number; nonce: string } };

/** An export's location must be the case directory the request named: `…/<case>`. */
export function inCaseDir(location: string, caseDir: string): boolean {
  const trimmed = location.replace(/\/+$/, '');
  if (trimmed.split('/').some((part) => part === '..' || part === '.')) return false;
  return trimmed.endsWith(`/${caseDir}`);
}

function parseTime(value: string, what: string): number {
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms))
    throw new ExportRefused(`"${what}" must be an ISO-8601 time, e.g. 2026-11-26T08:00:00Z`);
  return ms;
}

/** The recorder's cameras plus configured ones it has not reported yet (the dashboard offers both). */
function withConfigured(
  reported: RetentionHealth['cameras'],
  configured: string[],
): RetentionHealth['cameras'] {
  const names = new Set(reported.map((c) => c.name));
  const missing = configured.filter((n) => !names.has(n)).map((name) => ({ name, oldest: null, files: 0 }));
  return [...reported, ...missing].sort((a, b) => a.name.localeCompare(b.name));
}

/** `exports/<case>/` on the recorder: ASCII-safe, starting with a letter or digit, unique per case id. */
export function caseDirName(caseNumber: string, id: string): string {
  const safe = caseNumber.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return `${safe || 'case'}_${id.slice(0, 8)}`;
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
