/**
 * The signed MQTT channel to the recorder agent: subscribes to its answers and status (again after every
 * connect: a clean session forgets), seals each request as it is sent, and hands on only what opens with a
 * shared key. Nothing goes on the broker unsigned, and nothing unsigned is believed.
 */
import type { IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { nvrTopics } from '../contract/nvr.ts';
import { NvrAuth, type NvrKey, type NvrRejectReason } from '../contract/nvr-auth.ts';
import type { Logger } from '../log/logger.ts';
import type { OutboxRow } from './outbox.ts';

export type NvrTopics = ReturnType<typeof nvrTopics>;

/** Where authenticated messages go; each body is exactly what was signed. */
export interface RecorderHandlers {
  purgeResponse(body: Buffer): void;
  exportResponse(body: Buffer): void;
  status(body: Buffer, signed: { at: number; nonce: string }, retained: boolean): void;
  /** A message that failed authentication. */
  rejected(topic: string, reason: NvrRejectReason, why: string): void;
  /** The subscription is (again) in place: a good moment to send what is unanswered. */
  subscribed(): void;
}

export interface RecorderLinkDeps {
  /** Null in a process that only queues work (the CLI). */
  mqtt: MqttClient | null;
  /** Required with an MQTT client. */
  keys?: NvrKey[];
  maxSkewSeconds?: number;
  topics: NvrTopics;
  log: Logger;
  now: () => Date;
}

export class RecorderLink {
  private readonly mqtt: MqttClient | null;
  private readonly auth: NvrAuth | null;
  private readonly topics: NvrTopics;
  private readonly log: Logger;
  private handlers: RecorderHandlers | null = null;

  constructor(deps: RecorderLinkDeps) {
    this.mqtt = deps.mqtt;
    this.topics = deps.topics;
    this.log = deps.log;
    this.auth =
      deps.keys && deps.keys.length > 0
        ? new NvrAuth({ keys: deps.keys, maxSkewSeconds: deps.maxSkewSeconds, now: deps.now })
        : null;
    if (this.mqtt && !this.auth) throw new Error('nvr: keys are required to talk to the recorder (nvr.auth)');
  }

  get connected(): boolean {
    return this.mqtt?.connected === true;
  }

  start(handlers: RecorderHandlers): void {
    this.handlers = handlers;
    if (!this.mqtt) return;
    this.mqtt.on('message', this.onMessage);
    this.mqtt.on('connect', this.onConnect);
    if (this.mqtt.connected) this.onConnect();
  }

  async stop(): Promise<void> {
    if (!this.mqtt) return;
    this.mqtt.off('message', this.onMessage);
    this.mqtt.off('connect', this.onConnect);
    if (this.mqtt.connected) {
      await this.mqtt.unsubscribeAsync(this.subscribedTopics()).catch(() => undefined);
    }
  }

  /** Sealed at send time: every resend carries a fresh ts and nonce; the outbox keeps the plain body. */
  publish(row: OutboxRow): void {
    const mqtt = this.mqtt;
    if (!mqtt || !this.auth) return;
    const topic = row.kind === 'purge' ? this.topics.purgeRequest : this.topics.exportRequest;
    const sealed = this.auth.seal(topic, JSON.parse(row.payload) as object);
    const options: IClientPublishOptions = { qos: 1, retain: false };
    if (mqtt.options.protocolVersion === 5) {
      options.properties = {
        responseTopic: row.kind === 'purge' ? this.topics.purgeResponse : this.topics.exportResponse,
        correlationData: Buffer.from(row.id),
        messageExpiryInterval: 86_400,
      };
    }
    mqtt.publish(topic, sealed, options, (err) => {
      if (err) this.log.warn({ id: row.id, err: err.message }, 'nvr: publish failed; will resend');
    });
  }

  private subscribedTopics(): string[] {
    return [this.topics.purgeResponse, this.topics.exportResponse, this.topics.status];
  }

  private readonly onConnect = (): void => {
    const mqtt = this.mqtt;
    if (!mqtt) return;
    // Small request/answer messages: Nagle's algorithm would hold each one for a delayed ACK (~40 ms).
    (mqtt.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    mqtt.subscribe(this.subscribedTopics(), { qos: 1 }, (err) => {
      if (err) this.log.error({ err: err.message }, 'nvr: subscribe failed');
      // Resend after the subscription is in place, so a quick answer is not missed.
      this.handlers?.subscribed();
    });
  };

  private readonly onMessage = (topic: string, payload: Buffer, packet?: IPublishPacket): void => {
    try {
      const handlers = this.handlers;
      if (!this.subscribedTopics().includes(topic) || !this.auth || !handlers) return;
      // An empty retained payload is how a retained status is deleted; it carries nothing to believe.
      if (topic === this.topics.status && payload.length === 0) return;
      const opened = this.auth.open(topic, payload, { dup: packet?.dup, retain: packet?.retain });
      if (!opened.ok) {
        handlers.rejected(topic, opened.reason, opened.why);
        return;
      }
      // The strict schemas see exactly the authenticated body.
      const body = Buffer.from(JSON.stringify(opened.body), 'utf8');
      if (topic === this.topics.purgeResponse) handlers.purgeResponse(body);
      else if (topic === this.topics.exportResponse) handlers.exportResponse(body);
      else handlers.status(body, { at: opened.ts, nonce: opened.nonce }, packet?.retain === true);
    } catch (error) {
      this.log.error({ topic, err: (error as Error).message }, 'nvr: handling a message failed');
    }
  };
}
