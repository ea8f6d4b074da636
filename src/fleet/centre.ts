/**
 * The fleet centre: reads every branch's topics from the central broker, stores figures once per id and
 * acknowledges them after the commit, keeps door states, branch alarms, retention health and last contact,
 * raises site_offline for a silent site, and sends central alarm acknowledgements down, signed per site.
 */
import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectWarningOncePerOutage } from '../events/mqtt-connect.ts';
import { audit } from '../audit/audit.ts';
import {
  ackTopic,
  alarmAckTopic,
  parseFigures,
  parseHealth,
  parseOpeningHours,
  signAlarmAck,
} from '../contract/fleet.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import type { FleetCentreConfig } from './central-config.ts';
import {
  enqueueForBranch,
  PRUNE_BATCH,
  pruneReceipts,
  sentToBranch,
  type StoreResult,
  storeFigures,
  storeOpeningHours,
  unsentForBranches,
} from './central-store.ts';

export interface CentreChange {
  site: string;
  kind: 'contact' | 'door' | 'alarm' | 'event' | 'figures' | 'opening' | 'health';
  /** For branch events: the event's own time (ISO), so a reader can measure the delay. */
  ts?: string | undefined;
}

export interface CentreOptions {
  config: FleetCentreConfig;
  db: Db;
  log: Logger;
  /** Per site id: its fleet key (alarm acknowledgements to a site without one are not sent). */
  keys: Map<string, Buffer>;
  mqttOptions?: IClientOptions;
  nowMs?: () => number;
}

const SUBSCRIPTIONS = ['dorvakt/+/status', 'dorvakt/+/door/+/state', 'dorvakt/+/event', 'dorvakt/+/fleet/+'];
/** Stored messages handed to the client per flush; the rest follow as the broker accepts these. */
const FLUSH_BATCH = 200;
/** Last contact written to the store at most this often per site (see touch). */
const CONTACT_WRITE_MS = 10_000;
/** Door states and contacts are written together at most this long after they came (see writePending). */
const WRITE_EVERY_MS = 50;
/** How often receipts are pruned. */
const PRUNE_EVERY_MS = 3_600_000;

export class FleetCentre {
  readonly changes = new EventEmitter();
  readonly counters = { stored: 0, duplicates: 0, older: 0, refused: {} as Record<string, number> };
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Outbox ids handed to the client and not yet accepted by the broker (nor failed). */
  private readonly inFlight = new Set<number>();
  private flushedUpTo = 0;
  /** Per site: the last live message, and when last contact was last written to the store. */
  private readonly lastSeen = new Map<string, number>();
  private readonly contactWritten = new Map<string, number>();
  private readonly pendingDoors = new Map<
    string,
    { site: string; door: string; state: string; at: number }
  >();
  private readonly pendingContacts = new Map<string, number>();
  private writeTimer: NodeJS.Timeout | undefined;
  /** Sites with an open site_offline: their next message clears it at once. */
  private readonly offline: Set<string>;
  private readonly sites: Set<string>;
  private readonly nowMs: () => number;
  private readonly startedAt: number;

  constructor(private readonly o: CentreOptions) {
    this.nowMs = o.nowMs ?? Date.now;
    this.startedAt = this.nowMs();
    this.sites = new Set(o.config.sites.map((s) => s.id));
    this.changes.setMaxListeners(100);
    this.offline = new Set(
      o.db
        .prepare(
          "SELECT site FROM centre_alarms WHERE code = 'site_offline' AND origin = 'centre' AND cleared_at IS NULL",
        )
        .pluck()
        .all() as string[],
    );
    const add = o.db.prepare('INSERT INTO centre_sites (site) VALUES (?) ON CONFLICT DO NOTHING');
    for (const site of this.sites) add.run(site);
  }

  /** Connects with a persistent session, so the broker keeps QoS 1 messages while the centre restarts. */
  start(): void {
    const client = connectWarningOncePerOutage(
      this.o.config.mqtt.url,
      {
        clientId: this.o.config.mqtt.client_id,
        clean: false,
        protocolVersion: 5,
        properties: { sessionExpiryInterval: 7 * 24 * 3600 },
        ...(this.o.config.mqtt.username ? { username: this.o.config.mqtt.username } : {}),
        ...this.o.mqttOptions,
      },
      this.o.log,
      'fleet centre',
    );
    this.client = client;
    client.on('connect', () => {
      client.subscribe(SUBSCRIPTIONS, { qos: 1 });
      this.flush();
    });
    // mqtt.js sends what it was handed and not yet acknowledged again on the next connection (session kept,
    // and its callback still comes); the next flush looks at every stored row again for the rest.
    client.on('close', () => {
      this.flushedUpTo = 0;
    });
    client.on('message', (topic, payload, packet) => {
      try {
        this.handle(topic, payload, packet.retain);
      } catch (error) {
        this.o.log.error({ err: (error as Error).message, topic }, 'fleet centre: message not handled');
      }
    });
    this.timer = setInterval(() => this.checkOffline(), this.o.config.check_seconds * 1000);
    this.timer.unref();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    this.writePending();
    await this.client?.endAsync();
  }

  /**
   * Deletes the receipts no branch can send again (central-store.ts), a batch at a time with a turn of the
   * event loop between batches, so messages keep being handled meanwhile. Returns how many.
   */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = pruneReceipts(this.o.db, this.nowMs());
      total += n;
      if (n < PRUNE_BATCH) break;
      await new Promise((r) => setImmediate(r));
    }
    if (total) this.o.log.info({ receipts: total }, 'fleet centre: receipts pruned');
    return total;
  }

  /** Stored messages for branches not yet accepted by the broker. */
  unsent(): number {
    return (this.o.db.prepare('SELECT COUNT(*) AS n FROM centre_outbox').get() as { n: number }).n;
  }

  /**
   * Hands the stored messages to the client (QoS 1) while connected; each is deleted when the broker's PUBACK
   * comes. Without a connection they stay in the store for the next one.
   */
  private flush(): void {
    const client = this.client;
    if (!client?.connected) return;
    const batch = unsentForBranches(this.o.db, this.flushedUpTo, FLUSH_BATCH);
    for (const m of batch) {
      this.flushedUpTo = m.id;
      if (this.inFlight.has(m.id)) continue;
      this.inFlight.add(m.id);
      client.publish(m.topic, m.payload, { qos: 1 }, (error) => {
        this.inFlight.delete(m.id);
        if (error) return;
        sentToBranch(this.o.db, m.id);
        // The next batch once this one is through.
        if (this.inFlight.size === 0) this.flush();
      });
    }
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private refuse(why: string): void {
    this.counters.refused[why] = (this.counters.refused[why] ?? 0) + 1;
  }

  /** One message from the central broker. Exposed for tests that drive the centre without a broker. */
  handle(topic: string, payload: Buffer, retained: boolean): void {
    const parts = topic.split('/');
    const site = parts[1] ?? '';
    if (parts[0] !== 'dorvakt' || !this.sites.has(site)) {
      this.refuse('unknown_site');
      return;
    }
    const rest = parts.slice(2).join('/');
    const now = this.nowMs();
    // A retained message is old news (delivered at subscribe): it says nothing about the site being alive.
    if (!retained) this.touch(site, now);
    if (rest === 'status') {
      this.o.db
        .prepare('UPDATE centre_sites SET status = ? WHERE site = ?')
        .run(payload.toString().slice(0, 16), site);
    } else if (parts[2] === 'door' && parts[4] === 'state' && parts.length === 5) {
      this.onDoorState(site, parts[3]!, payload, now);
    } else if (rest === 'event') {
      this.onEvent(site, payload, now);
    } else if (rest === 'fleet/figures') {
      this.onFigures(site, payload, now);
    } else if (rest === 'fleet/opening-hours') {
      this.onOpeningHours(site, payload, now);
    } else if (rest === 'fleet/health') {
      const health = parseHealth(payload);
      if (!health.ok) {
        this.refuse(`health:${health.why}`);
        return;
      }
      this.o.db
        .prepare('UPDATE centre_sites SET health = ?, health_at = ? WHERE site = ?')
        .run(JSON.stringify(health.value), now, site);
      this.changes.emit('change', { site, kind: 'health' } satisfies CentreChange);
    } else if (rest === 'fleet/bridge') {
      this.o.db
        .prepare('UPDATE centre_sites SET bridge_up = ? WHERE site = ?')
        .run(payload.toString() === '1' ? 1 : 0, site);
    }
  }

  /**
   * Last contact is written at most every CONTACT_WRITE_MS per site (each write is a synced commit, and with
   * many branches one per message adds up); the time itself is kept here for site_offline. A site raised
   * offline is written, and its alarm cleared, at once at its next message.
   */
  private touch(site: string, now: number): void {
    this.lastSeen.set(site, now);
    if (this.offline.has(site)) {
      // Back: written and cleared at once, before anything else from this message is said.
      this.offline.delete(site);
      this.contactWritten.set(site, now);
      this.pendingContacts.set(site, now);
      this.writePending();
      return;
    }
    const written = this.contactWritten.get(site);
    if (written === undefined || now - written >= CONTACT_WRITE_MS) {
      // Said once it is in the store (with a site_offline it clears).
      this.contactWritten.set(site, now);
      this.pendingContacts.set(site, now);
      this.scheduleWrite();
      return;
    }
    this.changes.emit('change', { site, kind: 'contact' } satisfies CentreChange);
  }

  private onDoorState(site: string, door: string, payload: Buffer, now: number): void {
    if (!/^[\w-]{1,64}$/.test(door)) {
      this.refuse('door');
      return;
    }
    let state: unknown;
    try {
      state = JSON.parse(payload.toString());
    } catch {
      this.refuse('door_state');
      return;
    }
    if (typeof state !== 'object' || state === null) {
      this.refuse('door_state');
      return;
    }
    this.pendingDoors.set(`${site}\u0000${door}`, { site, door, state: JSON.stringify(state), at: now });
    this.scheduleWrite();
  }

  private scheduleWrite(): void {
    this.writeTimer ??= setTimeout(() => {
      try {
        this.writePending();
      } catch (error) {
        this.o.log.error(
          { err: (error as Error).message },
          'fleet centre: door states and contacts not written',
        );
      }
    }, WRITE_EVERY_MS);
  }

  /**
   * Door states and last contacts, in one commit for everything that came since the last: a fleet reconnecting
   * sends every door's retained state at once, and one synced commit each would hold the loop for seconds.
   * Only what is shown and what site_offline clears goes this way; figures are committed before their ack.
   */
  writePending(): void {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    if (this.pendingDoors.size === 0 && this.pendingContacts.size === 0) return;
    const doors = [...this.pendingDoors.values()];
    const contacts = [...this.pendingContacts.entries()];
    this.pendingDoors.clear();
    this.pendingContacts.clear();
    const { db } = this.o;
    const cleared: string[] = [];
    db.transaction(() => {
      const door = db.prepare(
        `INSERT INTO centre_doors (site, door, state, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (site, door) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      );
      for (const d of doors) door.run(d.site, d.door, d.state, d.at);
      const contact = db.prepare('UPDATE centre_sites SET last_contact_at = ? WHERE site = ?');
      const clear = db.prepare(
        "UPDATE centre_alarms SET cleared_at = ? WHERE site = ? AND code = 'site_offline' AND origin = 'centre' AND cleared_at IS NULL",
      );
      for (const [site, at] of contacts) {
        contact.run(at, site);
        if (clear.run(at, site).changes) cleared.push(site);
      }
    })();
    for (const site of cleared) {
      this.o.log.info({ site }, 'site back in contact');
      this.changes.emit('change', { site, kind: 'alarm' } satisfies CentreChange);
    }
    for (const [site] of contacts)
      this.changes.emit('change', { site, kind: 'contact' } satisfies CentreChange);
    for (const d of doors) this.changes.emit('change', { site: d.site, kind: 'door' } satisfies CentreChange);
  }

  private onEvent(site: string, payload: Buffer, now: number): void {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(payload.toString()) as Record<string, unknown>;
    } catch {
      this.refuse('event');
      return;
    }
    if (typeof event !== 'object' || event === null) {
      this.refuse('event');
      return;
    }
    const ts = typeof event.ts === 'string' ? event.ts : undefined;
    if (event.type === 'alarm' && typeof event.alarm === 'string' && /^[a-z_]{1,64}$/.test(event.alarm)) {
      const scope = typeof event.scope === 'string' ? event.scope.slice(0, 128) : '';
      const detail = typeof event.detail === 'string' ? event.detail.slice(0, 300) : null;
      if (event.state === 'raised') this.raise(site, event.alarm, scope, detail, 'branch', now);
      else if (event.state === 'cleared') this.clear(site, event.alarm, scope, 'branch', now);
      this.changes.emit('change', { site, kind: 'alarm', ts } satisfies CentreChange);
      return;
    }
    this.changes.emit('change', { site, kind: 'event', ts } satisfies CentreChange);
  }

  private onFigures(site: string, payload: Buffer, now: number): void {
    const figures = parseFigures(payload);
    if (!figures.ok) {
      this.refuse(`figures:${figures.why}`);
      return;
    }
    const result = this.storeAndAck(site, figures.value.id, now, () =>
      storeFigures(this.o.db, site, figures.value, now),
    );
    if (result === 'stored') this.changes.emit('change', { site, kind: 'figures' } satisfies CentreChange);
  }

  private onOpeningHours(site: string, payload: Buffer, now: number): void {
    const message = parseOpeningHours(payload);
    if (!message.ok) {
      this.refuse(`opening:${message.why}`);
      return;
    }
    const result = this.storeAndAck(site, message.value.id, now, () =>
      storeOpeningHours(this.o.db, site, message.value, now),
    );
    if (result === 'stored') this.changes.emit('change', { site, kind: 'opening' } satisfies CentreChange);
  }

  /**
   * Stores a branch message and its acknowledgement in one transaction, then sends the acknowledgement; also
   * for a duplicate, since the branch resends until an acknowledgement reaches it.
   */
  private storeAndAck(site: string, id: string, now: number, store: () => StoreResult): StoreResult {
    const result = this.o.db.transaction(() => {
      const r = store();
      enqueueForBranch(this.o.db, ackTopic(site), JSON.stringify({ v: 1, id }), now);
      return r;
    })();
    if (result === 'duplicate') this.counters.duplicates++;
    else if (result === 'older') this.counters.older++;
    else this.counters.stored++;
    this.flush();
    return result;
  }

  private raise(
    site: string,
    code: string,
    scope: string,
    detail: string | null,
    origin: 'branch' | 'centre',
    now: number,
  ): boolean {
    return (
      this.o.db
        .prepare(
          `INSERT OR IGNORE INTO centre_alarms (site, code, scope, detail, origin, raised_at) VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(site, code, scope, detail, origin, now).changes === 1
    );
  }

  private clear(site: string, code: string, scope: string, origin: 'branch' | 'centre', now: number): void {
    this.o.db
      .prepare(
        'UPDATE centre_alarms SET cleared_at = ? WHERE site = ? AND code = ? AND scope = ? AND origin = ? AND cleared_at IS NULL',
      )
      .run(now, site, code, scope, origin);
  }

  /** Raises site_offline for every configured site silent for offline_after_minutes (since start at most). */
  checkOffline(): string[] {
    this.writePending();
    const now = this.nowMs();
    const limit = this.o.config.offline_after_minutes * 60_000;
    const raised: string[] = [];
    const rows = this.o.db.prepare('SELECT site, last_contact_at FROM centre_sites').all() as {
      site: string;
      last_contact_at: number | null;
    }[];
    for (const { site, last_contact_at } of rows) {
      if (!this.sites.has(site)) continue;
      const last = this.lastSeen.get(site) ?? last_contact_at ?? this.startedAt;
      if (now - last < limit) continue;
      const detail =
        last_contact_at === null && !this.lastSeen.has(site)
          ? 'never heard from'
          : `last message ${new Date(last).toISOString()}`;
      if (this.raise(site, 'site_offline', '', detail, 'centre', now)) {
        this.offline.add(site);
        this.o.log.warn({ site }, 'site offline');
        raised.push(site);
        this.changes.emit('change', { site, kind: 'alarm' } satisfies CentreChange);
      }
    }
    return raised;
  }

  /**
   * A central user acknowledges an alarm: recorded and audited here; a branch alarm's acknowledgement goes
   * down to the branch (QoS 1, signed with the site's key), which acknowledges it there and audits it.
   */
  acknowledgeAlarm(id: number, user: string): boolean {
    const now = this.nowMs();
    const alarm = this.o.db.prepare('SELECT * FROM centre_alarms WHERE id = ?').get(id) as
      | { id: number; site: string; code: string; scope: string; origin: string; acked_at: number | null }
      | undefined;
    if (!alarm || alarm.acked_at !== null) return false;
    const key = this.o.keys.get(alarm.site);
    // The acknowledgement and its message down to the branch are stored together.
    this.o.db.transaction(() => {
      this.o.db
        .prepare('UPDATE centre_alarms SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL')
        .run(now, user, id);
      audit(this.o.db, {
        actor: user,
        action: 'alarm.acknowledge',
        subject: `${alarm.site}:${alarm.code}${alarm.scope ? `:${alarm.scope}` : ''}`,
        detail: { alarm_id: id, origin: alarm.origin },
      });
      if (alarm.origin !== 'branch') return;
      if (!key) {
        this.o.log.warn({ site: alarm.site }, 'no fleet key for the site: acknowledgement stays central');
        return;
      }
      const message = signAlarmAck(alarm.site, key, {
        alarm: alarm.code,
        scope: alarm.scope === '' ? null : alarm.scope,
        by: user,
        at: now,
      });
      enqueueForBranch(this.o.db, alarmAckTopic(alarm.site), JSON.stringify(message), now);
    })();
    this.flush();
    this.changes.emit('change', { site: alarm.site, kind: 'alarm' } satisfies CentreChange);
    return true;
  }
}
