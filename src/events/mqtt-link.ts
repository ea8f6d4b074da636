import type { IClientOptions, MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import type { MqttTlsOptions } from './mqtt-tls.ts';
import type { DorvaktEvent } from '../contract/events.ts';
import { CONTRACT_VERSION, type DoorStatePayload, type InfoPayload } from '../contract/mqtt.ts';
import { checkPayload, type PayloadKind } from '../contract/mqtt-check.ts';
import type { Logger } from '../log/logger.ts';
import type { EventBus } from './bus.ts';
import type { ControllerDescription } from './mqtt-info.ts';
import { toWireEvent } from './mqtt-payloads.ts';

export interface MqttLinkOptions {
  url: string;
  baseTopic: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  /** For `mqtts://`: CA, client certificate and key (PEM), and whether to verify the broker. */
  tls?: MqttTlsOptions | undefined;
  /** 5 for Mosquitto; 4 (3.1.1) for the embedded aedes broker. */
  protocolVersion?: 4 | 5;
  /** The broker may be gone this long before `broker_offline` is raised (reconnects are normal). */
  offlineAlarmAfterMs?: number;
  /** Published retained on `<base>/info` on every (re)connect; none without it. */
  info?: ControllerDescription | undefined;
  /** Told of every payload refused for failing its schema (metrics). */
  onRefused?: ((kind: PayloadKind) => void) | undefined;
}

/**
 * The controller's MQTT connection (contract v2, docs/mqtt.md): `<base>/status` with LWT, retained
 * `<base>/info` and door state, and events without identity. Every JSON payload is checked against its
 * schema first; one that fails is refused (logged and counted), never sent.
 */
export class MqttLink {
  private connection: MqttClient | undefined;
  /** Payloads published before `open` (the doors start first); sent in order once the client exists. */
  private readonly early: { topic: string; body: string; retain: boolean }[] = [];
  /** Early payloads dropped over the bound (the broker choice never answered). */
  droppedEarly = 0;
  private protocolVersion: 4 | 5 | undefined;
  private offlineTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly doorState = new Map<string, DoorStatePayload>();
  /** Payloads refused for failing their schema since start (tests and the log read it). */
  refusedPayloads = 0;

  constructor(
    private readonly options: MqttLinkOptions,
    private readonly bus: EventBus,
    private readonly alarms: Alarms,
    private readonly log: Logger,
  ) {}

  /** The connection; only after `open`. */
  get client(): MqttClient {
    if (!this.connection) throw new Error('MQTT link not open yet');
    return this.connection;
  }

  /**
   * Connects. Loaded and called after the doors are ready: mqtt.js is the heaviest module the door
   * process loads, and a swipe never needs it.
   */
  async open(protocolVersion: 4 | 5 = this.options.protocolVersion ?? 5): Promise<MqttClient> {
    if (this.connection) return this.connection;
    const { connect } = await import('mqtt');
    if (this.stopped) throw new Error('MQTT link stopped before it opened');
    this.protocolVersion = protocolVersion;
    const options = this.options;
    const statusTopic = `${options.baseTopic}/status`;
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      protocolVersion,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      // The default pre-builds 65,536 two-byte Buffers (≈ 6 MB of heap) to save an allocation per packet.
      writeCache: false,
      will: { topic: statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(options.username ? { username: options.username } : {}),
      ...(options.password ? { password: options.password } : {}),
      ...(options.tls ?? {}),
    };
    const client = connect(options.url, clientOptions);
    this.connection = client;
    client.on('connect', () => {
      this.clearOfflineTimer();
      this.alarms.clear('broker_offline');
      this.log.info({ url: redactUrl(options.url) }, 'MQTT connected');
      client.publish(statusTopic, 'online', { qos: 1, retain: true });
      this.publishInfo();
      // Retained state may be stale on a restarted broker: publish it again.
      for (const [door, state] of this.doorState) this.publishState(door, state);
    });
    client.on('close', () => this.armOfflineTimer());
    client.on('error', (error) => this.log.warn({ err: error.message }, 'MQTT error'));
    // mqtt.js queues QoS 1 while it connects.
    for (const early of this.early.splice(0))
      client.publish(early.topic, early.body, { qos: 1, retain: early.retain });
    return client;
  }

  start(): void {
    this.unsubscribe = this.bus.subscribe((event) => this.forward(event));
    this.armOfflineTimer();
  }

  private forward(event: DorvaktEvent): void {
    // QoS 0 while disconnected would be dropped silently by design; QoS 1 is queued by mqtt.js.
    this.publishJson('event', `${this.options.baseTopic}/event`, toWireEvent(event), false);
    if (event.type === 'door') {
      const state: DoorStatePayload = {
        locked: event.locked,
        open: event.open,
        held: event.held,
        fire: event.fire,
        mode: event.mode,
        alarm: this.alarmCodes(event.door),
        ts: event.ts,
      };
      this.doorState.set(event.door, state);
      this.publishState(event.door, state);
    } else if (event.type === 'alarm') {
      // Door state carries the active alarm list.
      for (const [door, state] of this.doorState) {
        if (event.door && event.door !== door) continue;
        const next = { ...state, alarm: this.alarmCodes(door), ts: event.ts };
        this.doorState.set(door, next);
        this.publishState(door, next);
      }
    }
  }

  /** Active alarm codes for a door, each once (a code can be active site-wide and for the door). */
  private alarmCodes(door: string): DoorStatePayload['alarm'] {
    return [...new Set(this.alarms.codesFor(door))];
  }

  private publishState(door: string, state: DoorStatePayload): void {
    this.publishJson('doorState', `${this.options.baseTopic}/door/${door}/state`, state, true);
  }

  private publishInfo(): void {
    const { info } = this.options;
    if (!info) return;
    const payload: InfoPayload = {
      v: CONTRACT_VERSION,
      contract: CONTRACT_VERSION,
      ...info,
      capabilities: { ...info.capabilities, mqtt_protocol: this.protocolVersion ?? 5 },
      ts: new Date().toISOString(),
    };
    this.publishJson('info', `${this.options.baseTopic}/info`, payload, true);
  }

  /** Sends `payload` only when it passes its schema: a consumer never sees a payload the contract forbids. */
  private publishJson(kind: PayloadKind, topic: string, payload: unknown, retain: boolean): void {
    const checked = checkPayload(kind, payload);
    if (!checked.ok) {
      this.refusedPayloads++;
      // The topic and the schema's complaint only: the payload could hold what must never be logged.
      this.log.error({ topic, kind, errors: checked.errors }, 'MQTT payload refused: it breaks the contract');
      try {
        this.options.onRefused?.(kind);
      } catch {
        // Counting must not break publishing.
      }
      return;
    }
    const body = JSON.stringify(payload);
    if (this.connection) {
      this.connection.publish(topic, body, { qos: 1, retain });
    } else if (this.early.length < MAX_EARLY) {
      this.early.push({ topic, body, retain });
    } else {
      this.droppedEarly++;
    }
  }

  private armOfflineTimer(): void {
    if (this.stopped || this.offlineTimer || this.connected) return;
    this.offlineTimer = setTimeout(() => {
      this.offlineTimer = undefined;
      if (!this.connected) this.alarms.raise('broker_offline', '', redactUrl(this.options.url));
    }, this.options.offlineAlarmAfterMs ?? 10_000);
    this.offlineTimer.unref();
  }

  private clearOfflineTimer(): void {
    if (this.offlineTimer) clearTimeout(this.offlineTimer);
    this.offlineTimer = undefined;
  }

  get connected(): boolean {
    return this.connection?.connected ?? false;
  }

  /** Publishes `offline` ourselves on a clean stop (the LWT covers crashes). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.clearOfflineTimer();
    // A broker that hangs (or dies as we stop) never acknowledges: give up after a bound, the LWT says
    // offline anyway, and stopping must never wait on the network.
    const client = this.connection;
    if (!client) return;
    if (client.connected) {
      await within(
        STOP_WAIT_MS,
        client.publishAsync(`${this.options.baseTopic}/status`, 'offline', { qos: 1, retain: true }),
      );
    }
    // mqtt.js ignores a second end() while one is pending, so a stuck one is cut at the socket.
    if (!(await within(STOP_WAIT_MS, client.endAsync()))) client.stream?.destroy();
  }
}

const STOP_WAIT_MS = 1000;
/** Events and states the doors publish while the broker is being chosen: a few per door. */
const MAX_EARLY = 1000;

/** True when `promise` settled within `ms` (either way). */
async function within(ms: number, promise: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = promise.then(
    () => true,
    () => true,
  );
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([settled, timedOut]);
  clearTimeout(timer);
  return result;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

export { mqttTls } from './mqtt-tls.ts';
