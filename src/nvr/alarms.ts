/**
 * The two alarms of the recorder side and when each clears: `retention_breach` (footage kept past
 * retention, a failed purge, a compliance finding) and `nvr_forgery` (a message that failed authentication,
 * here or at the agent).
 */
import type { Alarms } from '../alarms/alarms.ts';
import { FORGERY_REASONS, type NvrRejectReason } from '../contract/nvr-auth.ts';
import type { Logger } from '../log/logger.ts';
import type { NvrConfig } from './config.ts';
import type { NvrState, PurgeRecord } from './state.ts';

/** Alarm details are shown whole on the dashboard and sent over MQTT: keep them readable. */
const MAX_BREACH_DETAIL = 2000;

export class BreachAlarm {
  private statusBreach: string | null = null;
  /** The findings of the last status, one line each (`<kind>: <detail>`), as the alarm detail shows them. */
  private findingLines: string[] = [];

  constructor(
    private readonly alarms: Alarms,
    private readonly state: NvrState,
  ) {}

  /** What the recorder's status shows; the alarm is only touched when that changed. */
  setStatusCauses(breach: string | null, findings: string[]): void {
    if (breach !== this.statusBreach || JSON.stringify(findings) !== JSON.stringify(this.findingLines)) {
      this.statusBreach = breach;
      this.findingLines = findings;
      this.update();
    }
  }

  /** Raises, re-raises or clears the alarm from the last verified purge and the status causes. */
  update(): void {
    const purgeBreach = this.state.read<PurgeRecord>('purge')?.breach ?? null;
    const recordings = purgeBreach ?? this.statusBreach;
    const causes = [...(recordings ? [`recordings: ${recordings}`] : []), ...this.findingLines];
    if (causes.length === 0) {
      this.alarms.clear('retention_breach');
      this.state.write('breach', { kinds: '' });
      return;
    }
    // The alarm keeps the detail it was raised with: when the kinds of cause change it is raised anew, so the
    // detail names every current kind (changing counts or dates alone do not).
    const kinds = [...new Set(causes.map((c) => c.slice(0, c.indexOf(':'))))].sort().join(',');
    const previous = this.state.read<{ kinds: string }>('breach')?.kinds;
    if (this.alarms.isActive('retention_breach') && previous !== undefined && previous !== kinds) {
      this.alarms.clear('retention_breach');
    }
    let detail = causes.join('; ');
    if (detail.length > MAX_BREACH_DETAIL) detail = `${detail.slice(0, MAX_BREACH_DETAIL - 1)}…`;
    this.alarms.raise('retention_breach', '', detail);
    this.state.write('breach', { kinds });
  }
}

export interface ForgeryAlarmDeps {
  config: NvrConfig;
  alarms: Alarms;
  state: NvrState;
  log: Logger;
  nowMs: () => number;
  /** Called for every dropped message (metrics `dorvakt_nvr_rejected_total`). */
  onRejected?: (reason: NvrRejectReason) => void;
  /**
   * Runs the alarm's store work (the controller's queue in the door process: a write that waits for the lock
   * replaces the one waiting under its key, so a flood of forged messages keeps one); at once when not given.
   */
  inStore?: ((what: string, run: () => void, key: string) => void) | undefined;
}

export class ForgeryAlarm {
  constructor(private readonly deps: ForgeryAlarmDeps) {}

  /** A dropped message: logged and counted; a forgery when its reason says so. */
  reject(topic: string, reason: NvrRejectReason, why: string): void {
    // Never the payload: it may be an attacker's, and the log is not the place to keep it.
    this.deps.log.warn({ topic, reason, why }, 'nvr: message dropped');
    this.deps.onRejected?.(reason);
    if (FORGERY_REASONS.has(reason)) this.raise(`${reason} on ${topic}: ${why}`);
  }

  /** The agent has no alarms: its counts of forgeries growing in its status raise ours. */
  checkAgentRejections(
    before: Record<string, number> | undefined,
    now: Record<string, number> | undefined,
  ): void {
    for (const [reason, count] of Object.entries(now ?? {})) {
      if (!FORGERY_REASONS.has(reason)) continue;
      const old = before?.[reason] ?? 0;
      // A lower count means the agent restarted: everything it counts now is new.
      const grew = count < old ? count > 0 : count > old;
      if (grew) this.raise(`the recorder agent dropped messages: ${reason} (${count} since its start)`);
    }
  }

  /** No clear-on-acknowledge exists in Alarms, so `nvr_forgery` clears after a quiet period. */
  clearWhenQuiet(): void {
    const { alarms, state, config } = this.deps;
    if (!alarms.isActive('nvr_forgery')) return;
    const last = state.read<{ lastAt: number }>('forgery')?.lastAt ?? 0;
    const quietMs = (config.auth?.forgery_quiet_hours ?? 24) * 3_600_000;
    if (this.deps.nowMs() - last >= quietMs) alarms.clear('nvr_forgery');
  }

  private raise(detail: string): void {
    const lastAt = this.deps.nowMs();
    // Together, so a tick between them never finds the alarm without its time and clears it as quiet.
    const write = () => {
      this.deps.state.write('forgery', { lastAt, detail });
      this.deps.alarms.raise('nvr_forgery', '', detail);
    };
    if (this.deps.inStore) this.deps.inStore('nvr forgery', write, 'nvr forgery');
    else write();
  }
}
