/**
 * The request queue to the recorder agent (nvr_outbox): every purge and export request is stored before it
 * is sent, so a broker outage or a restart never loses one and a second process (the CLI) can queue work
 * that the running service then sends. Unanswered requests are resent with backoff; an answer is matched
 * to its request by id.
 */
import type { Alarms } from '../alarms/alarms.ts';
import type { ExportRequest, PurgeRequest } from '../contract/nvr.ts';
import type { Db } from '../store/db.ts';
import type { NvrConfig } from './config.ts';

export type RequestKind = 'purge' | 'export';

export interface OutboxRow {
  id: string;
  kind: RequestKind;
  payload: string;
  created_at: number;
  tries: number;
  last_sent_at: number | null;
  next_try_at: number;
  accepted_at: number | null;
  answered_at: number | null;
}

export interface OutboxDeps {
  config: NvrConfig;
  db: Db;
  alarms: Alarms;
  nowMs: () => number;
  /** Whether requests can go out now; while not, they are only stored. */
  connected: () => boolean;
  publish: (row: OutboxRow) => void;
}

export class Outbox {
  private readonly config: NvrConfig;
  private readonly db: Db;
  private readonly alarms: Alarms;
  private readonly nowMs: () => number;
  private readonly connected: () => boolean;
  private readonly publish: (row: OutboxRow) => void;

  constructor(deps: OutboxDeps) {
    this.config = deps.config;
    this.db = deps.db;
    this.alarms = deps.alarms;
    this.nowMs = deps.nowMs;
    this.connected = deps.connected;
    this.publish = deps.publish;
  }

  insert(id: string, kind: RequestKind, payload: PurgeRequest | ExportRequest, now: number): void {
    this.db
      .prepare('INSERT INTO nvr_outbox (id, kind, payload, created_at, next_try_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, kind, JSON.stringify(payload), now, now);
  }

  /** A newer purge covers everything an older unanswered one asked for. */
  supersedePurges(now: number): void {
    this.db
      .prepare(
        "UPDATE nvr_outbox SET superseded_at = ? WHERE kind = 'purge' AND answered_at IS NULL AND superseded_at IS NULL",
      )
      .run(now);
  }

  find(id: string, kind: RequestKind): OutboxRow | undefined {
    return this.db.prepare('SELECT * FROM nvr_outbox WHERE id = ? AND kind = ?').get(id, kind) as
      | OutboxRow
      | undefined;
  }

  /**
   * The request an answer is for: `unknown` when no request of that kind has its id, `duplicate` when it was
   * answered already (both change nothing), else the request's row.
   */
  requestFor(kind: RequestKind, id: string): OutboxRow | 'unknown' | 'duplicate' {
    const row = this.find(id, kind);
    if (!row) return 'unknown';
    return row.answered_at === null ? row : 'duplicate';
  }

  markAnswered(id: string, answer: unknown, now: number): void {
    this.db
      .prepare('UPDATE nvr_outbox SET answered_at = ?, answer = ? WHERE id = ?')
      .run(now, JSON.stringify(answer), id);
  }

  /** The agent took a long request on: from now on it is only asked about now and then. */
  markAccepted(id: string, now: number): void {
    this.db
      .prepare('UPDATE nvr_outbox SET accepted_at = ?, next_try_at = ? WHERE id = ?')
      .run(now, now + this.config.backoff.max_ms, id);
  }

  lastCreatedAt(kind: RequestKind): number | null {
    const last = this.db.prepare('SELECT MAX(created_at) AS at FROM nvr_outbox WHERE kind = ?').get(kind) as {
      at: number | null;
    };
    return last.at;
  }

  pendingCount(): number {
    const pending = this.db
      .prepare('SELECT COUNT(*) AS n FROM nvr_outbox WHERE answered_at IS NULL AND superseded_at IS NULL')
      .get() as { n: number };
    return pending.n;
  }

  /** Makes everything unanswered due and sends it (after a (re)connect). */
  resendAll(): void {
    // Accepted exports are included: the agent answers `done` again if that answer was lost meanwhile.
    this.db
      .prepare('UPDATE nvr_outbox SET next_try_at = ? WHERE answered_at IS NULL AND superseded_at IS NULL')
      .run(this.nowMs());
    this.sendDue();
  }

  /** Sends every due request; one that stayed unanswered after max_tries sends raises nvr_unreachable. */
  sendDue(): void {
    if (!this.connected()) return;
    const now = this.nowMs();
    const silent: OutboxRow[] = [];
    const toSend = this.db.transaction((): OutboxRow[] => {
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

  private delayAfter(tries: number): number {
    const { answer_timeout_ms, backoff } = this.config;
    return Math.min(answer_timeout_ms * backoff.factor ** Math.max(0, tries - 1), backoff.max_ms);
  }
}
