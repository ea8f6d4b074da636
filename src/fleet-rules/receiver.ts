/**
 * The branch side of the fleet's rules (docs/fleet-rules.md), in the worker process: takes the retained signed
 * document from `dorvakt/fleet/rules`, checks the signature before anything else, and applies a newer valid
 * version at once, in short transactions. Anything else changes nothing: it is counted, logged, audited and
 * raises `fleet_rules_rejected`. The door process only reads what this stored (src/fleet-rules/exceptions.ts).
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import { audit } from '../audit/audit.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import { type ApplyCounts, applyRulesGently, lastApplied, storeExceptions } from './apply.ts';
import { exceptionsForSite } from './exceptions.ts';
import { type RejectWhy, verifyRules } from './sign.ts';

export const FLEET_RULES_TOPIC = 'dorvakt/fleet/rules';

export type Outcome =
  | { applied: ApplyCounts; version: number }
  | { same: true }
  | { rejected: RejectWhy }
  | { failed: string };

export interface FleetRulesReceiverOptions {
  db: Db;
  site: string;
  publicKey: KeyObject;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
  /** Told of every refusal (metrics). */
  onRejected?: ((why: RejectWhy) => void) | undefined;
  /**
   * Told when the exceptions in the store changed: a newer document applied, or the stored one found
   * (un)trustworthy at start. The door process then merges them into its schedule again.
   */
  onChanged?: ((version: number) => void) | undefined;
  topic?: string | undefined;
  now?: () => number;
  /** Each write transaction is sized to take about this long (see applyRulesGently); none: one. */
  transactionBudgetMs?: number | undefined;
}

const sha256 = (payload: Buffer) => createHash('sha256').update(payload).digest('hex');

export class FleetRulesReceiver {
  private client: MqttClient | undefined;
  private lastRejected: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listener = (topic: string, payload: Buffer) => {
    if (topic === this.topic) void this.receive(payload);
  };

  constructor(private readonly options: FleetRulesReceiverOptions) {}

  get topic(): string {
    return this.options.topic ?? FLEET_RULES_TOPIC;
  }

  /**
   * The stored document checked again with today's key, after the doors are open (they started from the
   * exceptions stored with it). A key rotated since: its exceptions are no longer trusted (the stored blocks
   * and passes stay until a document signed with the new key replaces them), with the alarm.
   */
  checkStored(): Promise<Outcome | undefined> {
    return this.queued(() => {
      const { options } = this;
      const applied = lastApplied(options.db);
      if (!applied) return undefined;
      const payload = Buffer.from(applied.document, 'utf8');
      const checked = this.verify(payload);
      if (!checked.ok) {
        if (applied.exceptions !== null) {
          storeExceptions(options.db, null);
          this.changed(applied.version);
        }
        return this.reject(payload, checked.why, checked.error, applied.version, this.now());
      }
      const exceptions = JSON.stringify(exceptionsForSite(checked.rules, options.site));
      if (applied.exceptions !== exceptions) {
        storeExceptions(options.db, JSON.parse(exceptions));
        this.changed(applied.version);
      }
      return { same: true };
    });
  }

  start(client: MqttClient): void {
    this.client = client;
    client.on('message', this.listener);
    // Retained: the broker hands over the last document on every (re)subscribe.
    client.subscribe(this.topic, { qos: 1 }, (error) => {
      if (error) this.options.log.error({ err: error.message }, 'fleet rules: subscribe failed');
    });
  }

  stop(): void {
    if (!this.client) return;
    this.client.removeListener('message', this.listener);
    if (this.client.connected) this.client.unsubscribe(this.topic);
    this.client = undefined;
  }

  /**
   * One received payload, after the ones before it (an apply yields between its transactions). Never
   * rejects: whatever arrives, the door goes on with what it has.
   */
  receive(payload: Buffer): Promise<Outcome> {
    return this.queued(() => this.take(payload));
  }

  private queued<T>(work: () => T | Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private verify(payload: Buffer): ReturnType<typeof verifyRules> {
    try {
      return verifyRules(payload, this.options.publicKey);
    } catch {
      return { ok: false, why: 'malformed' };
    }
  }

  private changed(version: number): void {
    try {
      this.options.onChanged?.(version);
    } catch (error) {
      this.options.log.error({ err: (error as Error).message }, 'fleet rules: telling the door failed');
    }
  }

  private async take(payload: Buffer): Promise<Outcome> {
    const { options } = this;
    const now = this.now();
    const checked = this.verify(payload);
    if (!checked.ok) return this.reject(payload, checked.why, checked.error, undefined, now);
    const hash = sha256(payload);
    const current = lastApplied(options.db);
    if (current && checked.rules.version <= current.version) {
      // The retained copy of what is in force comes again on every reconnect: nothing to do.
      if (checked.rules.version === current.version && hash === current.sha256) return { same: true };
      return this.reject(
        payload,
        'stale',
        `version ${checked.rules.version} ≤ ${current.version}`,
        checked.rules.version,
        now,
      );
    }
    let applied: ApplyCounts;
    try {
      applied = await applyRulesGently(
        options.db,
        options.site,
        checked.rules,
        { document: payload.toString('utf8'), sha256: hash },
        { now, transactionBudgetMs: options.transactionBudgetMs },
      );
    } catch (error) {
      // The store refused (disk full, locked): the version in force is unchanged, and the rows written so far
      // are safe to decide from (see apply.ts); the retained copy comes again on reconnect.
      const message = (error as Error).message;
      options.log.error({ err: message }, 'fleet rules: could not be stored');
      return { failed: message };
    }
    this.lastRejected = undefined;
    options.alarms.clear('fleet_rules_rejected');
    options.log.info({ version: checked.rules.version, ...applied }, 'fleet rules applied');
    this.changed(checked.rules.version);
    return { applied, version: checked.rules.version };
  }

  private reject(
    payload: Buffer,
    why: RejectWhy,
    error: string | undefined,
    version: number | undefined,
    now: number,
  ): Outcome {
    const { options } = this;
    options.log.warn({ why, version: version ?? null, err: error ?? null }, 'fleet rules refused');
    // The alarm first: it crosses to the door process before the count does.
    options.alarms.raise(
      'fleet_rules_rejected',
      '',
      `${why}${version !== undefined ? ` (version ${version})` : ''}`,
    );
    // The same bad payload again (retained, on every reconnect) is audited once.
    const hash = sha256(payload);
    if (hash !== this.lastRejected) {
      this.lastRejected = hash;
      try {
        audit(
          options.db,
          {
            actor: 'fleet',
            action: 'fleet_rules.rejected',
            subject: version !== undefined ? `version ${version}` : undefined,
            reason: why,
            detail: { sha256: hash, bytes: payload.length, ...(error ? { error: error.slice(0, 200) } : {}) },
          },
          now,
        );
      } catch {
        // A store that cannot audit still refuses.
      }
    }
    // Counted last: whoever sees the count (the door process's metrics) finds the alarm and the audit row.
    try {
      options.onRejected?.(why);
    } catch {
      // Counting must not stop the refusal.
    }
    return { rejected: why };
  }
}
