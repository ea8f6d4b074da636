/**
 * The purge sweep: asks the recorder to delete footage older than retention_days (keeping held windows),
 * then verifies the answer against what was asked. A failed purge, or footage left older than the limit,
 * is a retention breach.
 */
import { randomUUID } from 'node:crypto';
import type { Alarms } from '../alarms/alarms.ts';
import type { HoldWindow, nvrTopics, PurgeRequest, PurgeResponse } from '../contract/nvr.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import type { BreachAlarm } from './alarms.ts';
import type { NvrConfig } from './config.ts';
import { parsePurgeResponse } from './messages.ts';
import type { Outbox } from './outbox.ts';
import type { NvrState, PurgeRecord } from './state.ts';

const DAY_MS = 86_400_000;

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

export interface PurgeSweepDeps {
  config: NvrConfig;
  db: Db;
  alarms: Alarms;
  log: Logger;
  nowMs: () => number;
  topics: ReturnType<typeof nvrTopics>;
  outbox: Outbox;
  state: NvrState;
  breach: BreachAlarm;
  /** The windows under a legal hold at an instant: the purge must keep them. */
  activeHolds: (now: number) => HoldWindow[];
  /** Called after each purge answer has been checked (metrics, the benchmark). */
  onPurgeVerified?: (result: PurgeVerified) => void;
}

export class PurgeSweep {
  constructor(private readonly deps: PurgeSweepDeps) {}

  /** Queues a purge request (superseding unanswered older ones) and sends it when connected. Returns its id. */
  request(): string {
    const { config, db, log, outbox } = this.deps;
    const now = this.deps.nowMs();
    const request: PurgeRequest = {
      id: randomUUID(),
      before: new Date(now - config.retention_days * DAY_MS).toISOString(),
      cameras: [...config.cameras],
      holds: this.deps.activeHolds(now),
      ts: new Date(now).toISOString(),
    };
    db.transaction(() => {
      outbox.supersedePurges(now);
      outbox.insert(request.id, 'purge', request, now);
    })();
    log.info({ id: request.id, before: request.before, holds: request.holds.length }, 'nvr: purge requested');
    outbox.sendDue();
    return request.id;
  }

  /** The recorder's answer to a purge request. */
  verify(payload: Buffer): void {
    const { config, db, log, outbox, state } = this.deps;
    const parsed = parsePurgeResponse(payload);
    if (!parsed.ok) {
      log.warn({ topic: this.deps.topics.purgeResponse, why: parsed.why }, 'nvr: purge response rejected');
      return;
    }
    const answer: PurgeResponse = parsed.value;
    const row = outbox.requestFor('purge', answer.id);
    if (row === 'unknown' || row === 'duplicate') {
      log.warn({ id: answer.id, why: row }, 'nvr: purge response ignored');
      return;
    }
    const now = this.deps.nowMs();
    const request = JSON.parse(row.payload) as PurgeRequest;
    let breach: string | null = null;
    if (!answer.ok) breach = `the recorder could not purge: ${answer.error ?? 'no reason given'}`;
    else if (answer.oldest) {
      const limit = Date.parse(request.before) - config.breach_tolerance_minutes * 60_000;
      if (Date.parse(answer.oldest) < limit) {
        breach = `footage from ${answer.oldest} is left after a purge before ${request.before}`;
      }
    }
    const current = db.transaction((): boolean => {
      outbox.markAnswered(row.id, answer, now);
      // A late answer to an older request says nothing about the present.
      const previous = state.read<PurgeRecord>('purge');
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
      state.write('purge', record);
      return true;
    })();
    this.deps.alarms.clear('nvr_unreachable');
    log.info(
      { id: row.id, deleted: answer.deleted, oldest: answer.oldest, ok: answer.ok, current },
      'nvr: purge answered',
    );
    if (!current) return;
    this.deps.breach.update();
    this.deps.onPurgeVerified?.({
      id: row.id,
      ok: answer.ok,
      deleted: answer.deleted,
      oldest: answer.oldest,
      breach,
      roundTripMs: now - row.created_at,
    });
  }
}
