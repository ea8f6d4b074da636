/**
 * Home Assistant over MQTT (docs/homeassistant.md): publishes the discovery of every door (again on every
 * connect and whenever Home Assistant says `online` on `<prefix>/status`), removes the discovery of doors that
 * left the config, keeps `<base>/door/<door>/today` current, and takes lock commands only when
 * `lock_commands` is on, in staffed hours, through the same audited path as the dashboard's unlock.
 * An optional part: it only ever publishes and listens; nothing here is on a swipe's path.
 */
import type { MqttClient } from 'mqtt';
import type { DoorPanel } from '../contract/door-panel.ts';
import type { AlarmCode, ScheduleState } from '../contract/events.ts';
import type { DoorTodayPayload } from '../contract/mqtt.ts';
import { checkPayload } from '../contract/mqtt-check.ts';
import { audit } from '../audit/audit.ts';
import { staffLock, staffUnlock } from '../door/staff-actions.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import type { DeferredWrites } from '../store/deferred-writes.ts';
import { zoneNamed } from '../time/zone.ts';
import type { HomeAssistantConfig } from './config.ts';
import { type DiscoveryDoor, discoveryPayload, discoveryTopic } from './discovery.ts';

/** What the bridge needs of a door: its panel (unlock/lock, as the dashboard) and its schedule state. */
export interface BridgeDoor extends DoorPanel {
  readonly config: Omit<DiscoveryDoor, 'name'> & { name?: string | undefined };
  scheduleState(): ScheduleState;
}

export type CommandOutcome =
  | 'done'
  | 'disabled'
  | 'outside_staffed_hours'
  | 'unknown_command'
  | 'no_such_door';

export interface HomeAssistantBridgeOptions {
  config: HomeAssistantConfig;
  db: Db;
  /** The door process's queue of store writes: bookkeeping and audit rows never wait for another's lock. */
  writes?: DeferredWrites | undefined;
  bus: EventBus;
  log: Logger;
  baseTopic: string;
  site: { id: string; name: string; timezone: string };
  softwareVersion: string;
  doors: readonly BridgeDoor[];
  alarmName: (code: AlarmCode) => string;
  /** People inside now (src/occupancy) and the doors it counts at; without it no door has the sensor. */
  occupancy?: { doors: ReadonlySet<string>; insideNow(): number | null } | undefined;
  /** Told of every lock command and what became of it (metrics). */
  onCommand?: ((door: string, outcome: CommandOutcome) => void) | undefined;
  now?: () => number;
}

/** Refusals of the same kind at one door are audited at most this often (all are counted). */
const REFUSAL_AUDIT_MS = 60_000;

export class HomeAssistantBridge {
  private client: MqttClient | undefined;
  private unsubscribe: (() => void) | undefined;
  private midnight: NodeJS.Timeout | undefined;
  private pendingToday = new Set<string>();
  private todayTimer: NodeJS.Timeout | undefined;
  private readonly lastRefusalAudit = new Map<string, number>();
  private readonly now: () => number;
  /** Commands handled since start, for tests and the log. */
  commands = 0;
  /** Settles once the broker acknowledged the subscriptions (true) or refused them (false). */
  subscribed: Promise<boolean> = Promise.resolve(false);

  constructor(private readonly options: HomeAssistantBridgeOptions) {
    this.now = options.now ?? Date.now;
  }

  private get statusTopic(): string {
    return `${this.options.config.discovery_prefix}/status`;
  }

  private commandTopic(door: string): string {
    return `${this.options.baseTopic}/door/${door}/lock/set`;
  }

  private readonly onConnect = () => this.announce();
  private readonly onMessage = (topic: string, payload: Buffer) => {
    try {
      this.message(topic, payload);
    } catch (error) {
      this.options.log.error({ err: (error as Error).message, topic }, 'homeassistant: message failed');
    }
  };

  start(client: MqttClient): void {
    this.client = client;
    client.on('connect', this.onConnect);
    client.on('message', this.onMessage);
    const topics = [this.statusTopic, ...this.options.doors.map((d) => this.commandTopic(d.id))];
    // mqtt.js subscribes again on reconnect (resubscribe is on by default).
    this.subscribed = new Promise((resolve) => {
      client.subscribe(topics, { qos: 1 }, (error) => {
        if (error) this.options.log.error({ err: error.message }, 'homeassistant: subscribe failed');
        resolve(!error);
      });
    });
    this.unsubscribe = this.options.bus.subscribe((event) => {
      if (event.type === 'entry') this.todayChanged(event.door);
      if (event.type === 'occupancy') this.publishInside(event.inside, event.ts);
    });
    if (client.connected) this.announce();
    this.armMidnight();
  }

  stop(): void {
    this.unsubscribe?.();
    clearTimeout(this.midnight);
    clearTimeout(this.todayTimer);
    const client = this.client;
    if (!client) return;
    client.removeListener('connect', this.onConnect);
    client.removeListener('message', this.onMessage);
    if (client.connected)
      client.unsubscribe([this.statusTopic, ...this.options.doors.map((d) => this.commandTopic(d.id))]);
    this.client = undefined;
  }

  /** Publishes every door's discovery and figures, and removes the discovery of doors no longer configured. */
  announce(): void {
    const client = this.client;
    if (!client) return;
    const { db, config, site } = this.options;
    const ctx = {
      prefix: config.discovery_prefix,
      baseTopic: this.options.baseTopic,
      site: { id: site.id, name: site.name },
      softwareVersion: this.options.softwareVersion,
      alarmName: this.options.alarmName,
    };
    const record = db.prepare(
      `INSERT INTO ha_discovery (door, topic, published_at) VALUES (?, ?, ?)
       ON CONFLICT (door) DO UPDATE SET topic = excluded.topic, published_at = excluded.published_at`,
    );
    for (const door of this.options.doors) {
      const topic = discoveryTopic(config.discovery_prefix, site.id, door.id);
      const counted = this.options.occupancy?.doors.has(door.id) === true;
      const payload = discoveryPayload(
        { ...door.config, name: door.config.name ?? door.id, occupancy: counted ? true : undefined },
        ctx,
      );
      // Recorded first: a crash between the two leaves a row for a published config, never the reverse.
      const at = this.now();
      this.write(`homeassistant discovery ${door.id}`, () => {
        record.run(door.id, topic, at);
        client.publish(topic, JSON.stringify(payload), { qos: 1, retain: true });
      });
      this.publishToday(door.id);
    }
    const inside = this.options.occupancy?.insideNow();
    if (inside !== undefined && inside !== null)
      this.publishInside(inside, new Date(this.now()).toISOString());
    const known = new Set(this.options.doors.map((d) => d.id));
    const published = db.prepare('SELECT door, topic FROM ha_discovery').all() as {
      door: string;
      topic: string;
    }[];
    for (const row of published) {
      if (known.has(row.door)) continue;
      // An empty retained payload deletes the device in Home Assistant and clears the broker's copy.
      client.publish(row.topic, '', { qos: 1, retain: true }, (error) => {
        if (error) return;
        this.write(`homeassistant discovery ${row.door} removed`, () =>
          db.prepare('DELETE FROM ha_discovery WHERE door = ? AND topic = ?').run(row.door, row.topic),
        );
        this.options.log.info(
          { door: row.door },
          'homeassistant: discovery removed for a door no longer configured',
        );
      });
    }
  }

  private message(topic: string, payload: Buffer): void {
    if (topic === this.statusTopic) {
      // Home Assistant (re)started and lost what it knew: tell it again (retained copies may be gone too).
      if (payload.toString() === 'online') this.announce();
      return;
    }
    const door = this.options.doors.find((d) => this.commandTopic(d.id) === topic);
    if (door) void this.command(door.id, payload.toString());
  }

  /** One lock command from Home Assistant. Never throws; every outcome is counted, and acts are audited. */
  async command(doorId: string, payload: string): Promise<CommandOutcome> {
    this.commands++;
    const { config, db, log } = this.options;
    const door = this.options.doors.find((d) => d.id === doorId);
    let outcome: CommandOutcome;
    if (!door) outcome = 'no_such_door';
    else if (!config.lock_commands) outcome = 'disabled';
    else if (payload !== 'LOCK' && payload !== 'UNLOCK') outcome = 'unknown_command';
    else if (door.scheduleState() !== 'staffed') outcome = 'outside_staffed_hours';
    else {
      const act = { actor: 'homeassistant', reason: 'Home Assistant', via: 'homeassistant' };
      try {
        if (payload === 'UNLOCK')
          await staffUnlock(db, door, act, config.unlock_minutes, this.options.writes);
        else await staffLock(db, door, act, this.options.writes);
        outcome = 'done';
      } catch (error) {
        log.error({ err: (error as Error).message, door: doorId }, 'homeassistant: lock command failed');
        return 'unknown_command';
      }
    }
    try {
      this.options.onCommand?.(doorId, outcome);
    } catch {
      // Counting must not change the outcome.
    }
    if (outcome !== 'done') {
      log.warn({ door: doorId, outcome }, 'homeassistant: lock command refused');
      this.auditRefusal(doorId, outcome, payload);
    } else {
      log.info({ door: doorId, command: payload }, 'homeassistant: lock command carried out');
    }
    return outcome;
  }

  private auditRefusal(door: string, outcome: CommandOutcome, payload: string): void {
    const key = `${door}|${outcome}`;
    const now = this.now();
    const last = this.lastRefusalAudit.get(key);
    if (last !== undefined && now - last < REFUSAL_AUDIT_MS) return;
    this.lastRefusalAudit.set(key, now);
    const write = () =>
      audit(
        this.options.db,
        {
          actor: 'homeassistant',
          action: 'homeassistant.command_refused',
          subject: door,
          reason: outcome,
          detail: { command: payload === 'LOCK' || payload === 'UNLOCK' ? payload : 'other' },
        },
        now,
      );
    try {
      this.write('homeassistant refusal audited', write);
    } catch {
      // The refusal stands without its audit record.
    }
  }

  /** A store write: through the door process's queue when there is one (it never waits), else at once. */
  private write(what: string, run: () => void): void {
    if (this.options.writes) this.options.writes.write(what, run);
    else run();
  }

  /** Entries come in bursts: one recount per door per turn of the event loop, after the swipe. */
  private todayChanged(door: string): void {
    this.pendingToday.add(door);
    if (this.todayTimer) return;
    this.todayTimer = setTimeout(() => {
      this.todayTimer = undefined;
      for (const d of this.pendingToday) this.publishToday(d);
      this.pendingToday.clear();
    }, 0);
  }

  /** Granted entries in staffless hours at the door since local midnight. */
  staffless(door: string, now = this.now()): DoorTodayPayload {
    const { date, start } = localMidnight(now, this.options.site.timezone);
    const count = this.options.db
      .prepare(
        `SELECT COUNT(*) FROM entries WHERE ts >= ? AND door = ? AND mode = 'staffless' AND outcome = 'granted'`,
      )
      .pluck()
      .get(start, door) as number;
    return { date, staffless_visits: count, ts: new Date(now).toISOString() };
  }

  private publishToday(door: string): void {
    const client = this.client;
    if (!client) return;
    const payload = this.staffless(door);
    const checked = checkPayload('doorToday', payload);
    if (!checked.ok) {
      this.options.log.error(
        { door, errors: checked.errors },
        'MQTT payload refused: it breaks the contract',
      );
      return;
    }
    client.publish(`${this.options.baseTopic}/door/${door}/today`, JSON.stringify(payload), {
      qos: 1,
      retain: true,
    });
  }

  /** The building's count, on each counted door's topic (the discovery's "Inside now" sensor). */
  private publishInside(inside: number, ts: string): void {
    const client = this.client;
    const doors = this.options.occupancy?.doors;
    if (!client || !doors) return;
    for (const door of doors)
      client.publish(`${this.options.baseTopic}/door/${door}/occupancy`, JSON.stringify({ inside, ts }), {
        qos: 1,
        retain: true,
      });
  }

  private armMidnight(): void {
    clearTimeout(this.midnight);
    const now = this.now();
    const { timezone } = this.options.site;
    // Today's start plus 26 hours is always within tomorrow (a local day has 23 to 25 hours).
    const tomorrow = localMidnight(localMidnight(now, timezone).start + 26 * 3_600_000, timezone).start;
    this.midnight = setTimeout(
      () => {
        for (const door of this.options.doors) this.publishToday(door.id);
        this.armMidnight();
      },
      Math.max(1000, tomorrow - now + 1000),
    );
    this.midnight.unref();
  }
}

/** The local date of an instant and the instant its local day began (DST days included). */
export function localMidnight(instant: number, timezone: string): { date: string; start: number } {
  const zone = zoneNamed(timezone);
  const day = zone.localDay(instant);
  let start = instant - day.msOfDay;
  // Across a DST change the wall clock moved by an hour within the day: correct by what is left over.
  for (let i = 0; i < 2; i++) {
    const at = zone.localDay(start);
    if (at.key === day.key && at.msOfDay === 0) break;
    start -= at.key === day.key ? at.msOfDay : at.msOfDay - 86_400_000;
  }
  return { date: day.key, start };
}
