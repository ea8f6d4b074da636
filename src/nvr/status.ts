/**
 * The recorder's status: taken in only when newer than the last one accepted, checked for footage older
 * than retention allows and for compliance findings (which age while nothing purges, so the check runs on
 * every tick too), and summed up with the last purge as the retention health the dashboard shows.
 */
import type { Alarms } from '../alarms/alarms.ts';
import type { nvrTopics } from '../contract/nvr.ts';
import type { RetentionHealth } from '../contract/nvr-admin.ts';
import type { Logger } from '../log/logger.ts';
import type { BreachAlarm, ForgeryAlarm } from './alarms.ts';
import type { NvrConfig } from './config.ts';
import { parseNvrStatus } from './messages.ts';
import type { Outbox } from './outbox.ts';
import type { NvrState, PurgeRecord, StoredStatus } from './state.ts';

const DAY_MS = 86_400_000;

export interface RecorderStatusDeps {
  config: NvrConfig;
  alarms: Alarms;
  log: Logger;
  nowMs: () => number;
  topics: ReturnType<typeof nvrTopics>;
  outbox: Outbox;
  state: NvrState;
  breach: BreachAlarm;
  forgery: ForgeryAlarm;
}

export class RecorderStatus {
  constructor(private readonly deps: RecorderStatusDeps) {}

  /** A status that opened with a shared key; `signed` is its signature's time and nonce. */
  take(payload: Buffer, signed: { at: number; nonce: string }, retained: boolean): void {
    const { log, state, topics } = this.deps;
    const parsed = parseNvrStatus(payload);
    if (!parsed.ok) {
      log.warn({ topic: topics.status, why: parsed.why }, 'nvr: status rejected');
      return;
    }
    const previous = state.read<StoredStatus>('status');
    // An older status never replaces a newer one (nor clears a breach the newer one shows).
    const last = previous?.signed ?? { at: Number.NEGATIVE_INFINITY, nonce: '' };
    if (signed.at < last.at || (signed.at === last.at && signed.nonce === last.nonce)) {
      this.deps.forgery.reject(
        topics.status,
        retained ? 'stale' : 'replay',
        'status not newer than the last one accepted',
      );
      return;
    }
    state.write('status', { ...parsed.value, receivedAt: this.deps.nowMs(), signed });
    this.deps.forgery.checkAgentRejections(previous?.rejected, parsed.value.rejected);
    this.checkAge();
  }

  /** Footage older than retention (plus grace) and every compliance finding feed retention_breach. */
  checkAge(): void {
    const { config } = this.deps;
    const status = this.deps.state.read<StoredStatus>('status');
    let breach: string | null = null;
    if (status?.oldest) {
      const limit = this.deps.nowMs() - config.retention_days * DAY_MS - config.status_grace_minutes * 60_000;
      if (Date.parse(status.oldest) < limit) {
        breach = `the recorder reports footage from ${status.oldest}, older than ${config.retention_days} days`;
      }
    }
    // Every compliance finding is a breach of its own kind; the agent drops a finding once it is resolved.
    const findings = (status?.findings ?? []).map(
      (f) =>
        `${f.kind}: ${f.camera && !f.detail.includes(f.camera) ? `camera ${f.camera}: ` : ''}${f.detail}`,
    );
    this.deps.breach.setStatusCauses(breach, findings);
  }

  health(): RetentionHealth {
    const { alarms, config, outbox, state } = this.deps;
    const purge = state.read<PurgeRecord>('purge');
    const status = state.read<StoredStatus>('status');
    const lastRequestAt = outbox.lastCreatedAt('purge');
    const pending = outbox.pendingCount();
    // The newer of the two reports wins for "oldest".
    const statusNewer = status && (!purge || status.receivedAt >= purge.answeredAt);
    return {
      retentionDays: config.retention_days,
      lastPurgeRequestAt: iso(lastRequestAt),
      lastPurgeAnsweredAt: iso(purge?.answeredAt ?? null),
      lastPurgeDeleted: purge?.deleted ?? null,
      oldest: statusNewer ? status.oldest : (purge?.oldest ?? status?.oldest ?? null),
      cameras: withConfigured(status?.cameras ?? [], config.cameras),
      statusAt: status?.ts ?? null,
      breach: alarms.isActive('retention_breach'),
      unreachable: alarms.isActive('nvr_unreachable'),
      forgery: alarms.isActive('nvr_forgery'),
      pendingRequests: pending,
      findings: status?.findings ?? [],
      skipped: status?.skipped ?? [],
      recorder: status?.recorder ?? null,
    };
  }
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

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
