/**
 * The branch side of the fleet's rules (docs/fleet-rules.md): takes the retained signed document from
 * `dorvakt/fleet/rules`, checks the signature before anything else, and applies a newer valid version at
 * once. Anything else changes nothing: it is counted, logged, audited and raises `fleet_rules_rejected`.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import { audit } from '../audit/audit.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import { type ApplyCounts, applyRules, lastApplied } from './apply.ts';
import type { FleetRules } from './document.ts';
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
  /** Told after a newer document is applied, with it (the schedule merges its exceptions). */
  onApplied?: ((rules: FleetRules) => void) | undefined;
  topic?: string | undefined;
  now?: () => number;
}

const sha256 = (payload: Buffer) => createHash('sha256').update(payload).digest('hex');

export class FleetRulesReceiver {
  private client: MqttClient | undefined;
  private lastRejected: string | undefined;
  private readonly listener = (topic: string, payload: Buffer) => {
    if (topic === this.topic) this.receive(payload);
  };

  constructor(private readonly options: FleetRulesReceiverOptions) {}

  get topic(): string {
    return this.options.topic ?? FLEET_RULES_TOPIC;
  }

  /** The document in force (checked again with today's key), or undefined: what a start merges. */
  current(): FleetRules | undefined {
    const applied = lastApplied(this.options.db);
    if (!applied) return undefined;
    const checked = verifyRules(applied.document, this.options.publicKey);
    if (checked.ok) return checked.rules;
    // A key rotated since: the stored blocks stay until a document signed with the new key replaces them.
    this.options.log.warn({ why: checked.why }, 'fleet rules: the stored document no longer verifies');
    return undefined;
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

  /** One received payload. Never throws: whatever arrives, the door goes on with what it has. */
  receive(payload: Buffer): Outcome {
    const { options } = this;
    const now = options.now?.() ?? Date.now();
    let checked: ReturnType<typeof verifyRules>;
    try {
      checked = verifyRules(payload, options.publicKey);
    } catch {
      checked = { ok: false, why: 'malformed' };
    }
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
      applied = applyRules(
        options.db,
        options.site,
        checked.rules,
        { document: payload.toString('utf8'), sha256: hash },
        now,
      );
    } catch (error) {
      // The store refused (disk full, locked): nothing changed; the retained copy comes again on reconnect.
      const message = (error as Error).message;
      options.log.error({ err: message }, 'fleet rules: could not be stored');
      return { failed: message };
    }
    this.lastRejected = undefined;
    options.alarms.clear('fleet_rules_rejected');
    options.log.info({ version: checked.rules.version, ...applied }, 'fleet rules applied');
    try {
      options.onApplied?.(checked.rules);
    } catch (error) {
      options.log.error({ err: (error as Error).message }, 'fleet rules: applying the exceptions failed');
    }
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
    try {
      options.onRejected?.(why);
    } catch {
      // Counting must not stop the refusal.
    }
    options.log.warn({ why, version: version ?? null, err: error ?? null }, 'fleet rules refused');
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
    return { rejected: why };
  }
}
