/**
 * The branch's side of the fleet, in the worker process (never on the door's event loop): sends the figures
 * outbox to the local broker (the bridge carries them to the centre), marks what the centre acknowledged,
 * publishes retention health, and applies the centre's signed alarm acknowledgements locally, audited.
 * Nothing here is needed to open a door; with the bridge or the broker down it only waits.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectWarningOncePerOutage } from '../events/mqtt-connect.ts';
import type { ActiveAlarm } from '../alarms/alarms.ts';
import { audit } from '../audit/audit.ts';
import {
  ackTopic,
  alarmAckTopic,
  bridgeTopic,
  type FleetAlarmAck,
  type FleetHealth,
  figuresTopic,
  healthTopic,
  openingHoursTopic,
  parseAck,
  parseAlarmAck,
} from '../contract/fleet.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import { DAY_MS } from '../time/zone.ts';
import type { FleetBranchConfig } from './config.ts';
import { backfillOpeningHours, type OpeningConfig, scanOpeningHours } from './opening.ts';
import { FiguresOutbox } from './outbox.ts';

/** How often, and how far apart, an acknowledgement that matched no alarm is tried again. */
const ALARM_ACK_RETRIES = 5;
const ALARM_ACK_RETRY_MS = 1000;
/** A failed opening hours backfill (the schedule compiler did not answer) is tried again after this long. */
const BACKFILL_RETRY_MS = 3_600_000;

export interface BranchAlarms {
  unresolved(): ActiveAlarm[];
  acknowledge(id: number, user: string): boolean | Promise<boolean>;
}

export interface BranchFleetOptions {
  db: Db;
  site: string;
  base: string;
  timezone: string;
  identifiedDays: number;
  config: FleetBranchConfig;
  mqttUrl: string;
  mqttOptions?: IClientOptions;
  /** The site's fleet key; null refuses every alarm acknowledgement (counted). */
  key: Buffer | null;
  alarms: BranchAlarms;
  log: Logger;
  /** The doors' schedules and the site: this year's opening hours before the link ran (backfill). */
  opening?: OpeningConfig;
  nowMs?: () => number;
}

export interface BranchFleetCounters {
  sent: number;
  acked: number;
  alarmAcks: number;
  refused: Record<string, number>;
}

export class BranchFleet {
  readonly outbox: FiguresOutbox;
  readonly counters: BranchFleetCounters = { sent: 0, acked: 0, alarmAcks: 0, refused: {} };
  private client: MqttClient | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly retries = new Set<NodeJS.Timeout>();
  private readonly nowMs: () => number;
  private lastHealth = '';
  /** The opening hours backfill: not yet tried to completion (and when next), running, or done. */
  private backfill: { state: 'due'; at: number } | { state: 'running' | 'done' } = { state: 'due', at: 0 };
  /** Settles when a running backfill has ended (tests wait on it). */
  backfillDone: Promise<number> = Promise.resolve(0);

  constructor(private readonly o: BranchFleetOptions) {
    this.nowMs = o.nowMs ?? Date.now;
    this.outbox = new FiguresOutbox({
      db: o.db,
      timezone: o.timezone,
      identifiedDays: o.identifiedDays,
      nowMs: this.nowMs,
      backoff: o.config.backoff,
      batch: o.config.batch,
      backfillDays: o.config.backfill_days,
      keepAckedDays: o.config.keep_acked_days,
    });
  }

  /** Connects (retrying by itself, so a broker down at start is only waited for) and starts the ticks. */
  start(): void {
    const client = connectWarningOncePerOutage(
      this.o.mqttUrl,
      { clientId: `dorvakt-fleet-${this.o.site}`, ...this.o.mqttOptions },
      this.o.log,
      'fleet link',
    );
    this.client = client;
    client.on('connect', () => {
      client.subscribe(
        [ackTopic(this.o.site), alarmAckTopic(this.o.site), bridgeTopic(this.o.base)],
        { qos: 1 },
        () => {
          this.outbox.makeAllDue();
          this.send();
        },
      );
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    const every = (seconds: number, fn: () => void) => {
      const timer = setInterval(() => {
        try {
          fn();
        } catch (error) {
          this.o.log.error({ err: (error as Error).message }, 'fleet link: tick failed');
        }
      }, seconds * 1000);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.o.config.scan_seconds, () => this.scan());
    every(this.o.config.send_seconds, () => this.send());
    every(this.o.config.health_seconds, () => this.publishHealth(true));
    this.scan();
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    // It writes to the store when the compiler answers: not after the store is closed.
    await this.backfillDone;
    await this.client?.endAsync();
  }

  scan(): void {
    let queued = this.outbox.scan();
    try {
      queued += scanOpeningHours(this.o.db, this.o.timezone, this.outbox, this.nowMs());
    } catch (error) {
      // The figures go on without the opening hours.
      this.o.log.error({ err: (error as Error).message }, 'fleet link: opening hours not computed');
    }
    if (queued > 0) this.send();
    this.publishHealth(false);
    this.startBackfill();
  }

  /**
   * This year's opening hours from before the link ran, computed from the config once (opening.ts), in the
   * schedule compiler's child process: never holding this loop, and only the opening hours wait when it fails.
   */
  private startBackfill(): void {
    const opening = this.o.opening;
    if (!opening || this.backfill.state !== 'due' || this.nowMs() < this.backfill.at) return;
    this.backfill = { state: 'running' };
    this.backfillDone = backfillOpeningHours(
      this.o.db,
      this.o.timezone,
      this.outbox,
      this.nowMs(),
      opening,
    ).then(
      (weeks) => {
        this.backfill = { state: 'done' };
        if (weeks > 0) {
          this.o.log.info({ weeks }, 'fleet link: opening hours of this year queued');
          this.send();
        }
        return weeks;
      },
      (error: Error) => {
        this.backfill = { state: 'due', at: this.nowMs() + BACKFILL_RETRY_MS };
        this.o.log.error({ err: error.message }, 'fleet link: opening hours of this year not computed');
        return 0;
      },
    );
  }

  /** Due figures out at QoS 1; without a connection they stay due in the store. */
  send(): void {
    const client = this.client;
    if (!client?.connected) return;
    for (const { kind, payload } of this.outbox.takeDue()) {
      const topic = kind === 'opening' ? openingHoursTopic(this.o.base) : figuresTopic(this.o.base);
      client.publish(topic, payload, { qos: 1 });
      this.counters.sent++;
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === ackTopic(this.o.site)) {
      const ack = parseAck(payload);
      if (!ack.ok) {
        this.refuse('ack');
        return;
      }
      if (this.outbox.acknowledged(ack.value.id)) this.counters.acked++;
      return;
    }
    if (topic === bridgeTopic(this.o.base)) {
      // The bridge is up again: everything unacknowledged goes now, not after its backoff.
      if (payload.toString() === '1') {
        this.outbox.makeAllDue();
        this.send();
      }
      return;
    }
    if (topic === alarmAckTopic(this.o.site)) void this.onAlarmAck(payload);
  }

  private refuse(why: string): void {
    this.counters.refused[why] = (this.counters.refused[why] ?? 0) + 1;
  }

  private async onAlarmAck(payload: Buffer): Promise<void> {
    if (!this.o.key) {
      this.refuse('no_key');
      return;
    }
    const parsed = parseAlarmAck(this.o.site, this.o.key, payload);
    if (!parsed.ok) {
      this.o.log.warn({ why: parsed.why }, 'fleet alarm acknowledgement refused');
      this.refuse(parsed.why);
      return;
    }
    await this.applyAlarmAck(parsed.value, ALARM_ACK_RETRIES);
  }

  /**
   * Acknowledges the matching alarms. None yet: this process may not have heard of the alarm (the worker
   * mirrors the door process's list), so it looks again a few times before giving up.
   */
  private async applyAlarmAck(ack: FleetAlarmAck, triesLeft: number): Promise<void> {
    // Only alarms raised before the central acknowledgement: a late or replayed one never covers a newer alarm.
    const targets = this.o.alarms
      .unresolved()
      .filter(
        (a) =>
          a.code === ack.alarm && a.door === (ack.scope ?? '') && a.ackedAt === null && a.raisedAt <= ack.at,
      );
    if (targets.length === 0 && triesLeft > 0) {
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        void this.applyAlarmAck(ack, triesLeft - 1);
      }, ALARM_ACK_RETRY_MS);
      timer.unref();
      this.retries.add(timer);
      return;
    }
    const actor = `fleet:${ack.by}`;
    for (const alarm of targets) {
      if (!(await this.o.alarms.acknowledge(alarm.id, actor))) continue;
      this.counters.alarmAcks++;
      audit(this.o.db, {
        actor,
        action: 'alarm.acknowledge',
        subject: `${alarm.code}${alarm.door ? `:${alarm.door}` : ''}`,
        detail: { alarm_id: alarm.id, via: 'fleet', at: ack.at },
      });
    }
  }

  health(): FleetHealth {
    const now = this.nowMs();
    const oldest = (
      this.o.db.prepare('SELECT MIN(ts) AS ts FROM entries WHERE card_hash IS NOT NULL').get() as {
        ts: number | null;
      }
    ).ts;
    return {
      v: 1,
      ts: new Date(now).toISOString(),
      pending_figures: this.outbox.pending(),
      oldest_identified: oldest,
      identified_days: this.o.identifiedDays,
      retention_ok: oldest === null || oldest >= now - (this.o.identifiedDays + 1) * DAY_MS,
    };
  }

  /** Says the branch is alive now (its health, retained), whatever changed. */
  heartbeat(): void {
    this.publishHealth(true);
  }

  /** Retained; sent when it changed, and every health_seconds so the centre sees a live branch. */
  private publishHealth(always: boolean): void {
    const client = this.client;
    if (!client?.connected) return;
    const health = this.health();
    const key = JSON.stringify({ ...health, ts: '' });
    if (!always && key === this.lastHealth) return;
    this.lastHealth = key;
    client.publish(healthTopic(this.o.base), JSON.stringify(health), { qos: 1, retain: true });
  }
}
