/**
 * Networked people counters: each door's counter publishes `{in, out}` (passages since its last message) on
 * its topic. Every message is checked (size, JSON, schema, a recent duplicate id); a bad one changes nothing,
 * is logged without its content and counted by why.
 */
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import type { MqttClient } from 'mqtt';
import { MQTT_AJV_OPTIONS } from '../contract/mqtt-check.ts';
import { type CounterPayload, counterSchema } from '../contract/occupancy.ts';
import type { Logger } from '../log/logger.ts';

export type CounterRejectWhy = 'too_large' | 'not_json' | 'schema' | 'duplicate';

/** A counter message is a few dozen bytes. */
export const COUNTER_MAX_BYTES = 1024;
/** Ids remembered per door for spotting a redelivered message. */
const RECENT_IDS = 64;

let validate: ValidateFunction<CounterPayload> | undefined;
function validator(): ValidateFunction<CounterPayload> {
  if (!validate) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as { Ajv: typeof AjvClass };
    validate = new Ajv(MQTT_AJV_OPTIONS).compile<CounterPayload>(counterSchema);
  }
  return validate;
}

export type CounterCheck =
  | { ok: true; value: CounterPayload }
  | { ok: false; why: CounterRejectWhy; detail: string };

/** One raw counter message, checked (not yet for duplicates). */
export function parseCounter(payload: Buffer | string): CounterCheck {
  if (Buffer.byteLength(payload) > COUNTER_MAX_BYTES) return { ok: false, why: 'too_large', detail: '' };
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch {
    return { ok: false, why: 'not_json', detail: '' };
  }
  const check = validator();
  if (check(value)) return { ok: true, value };
  const detail = (check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ');
  return { ok: false, why: 'schema', detail };
}

export interface MqttCountersOptions {
  client: MqttClient;
  /** Topic → door. */
  topics: Map<string, string>;
  log: Logger;
  onPassages: (door: string, passagesIn: number, passagesOut: number, at: Date | undefined) => void;
  onRejected: (door: string, why: CounterRejectWhy) => void;
}

export class MqttCounters {
  private readonly recent = new Map<string, string[]>();
  /** Rejected messages by why, since start (tests, the log). */
  readonly rejected: Record<CounterRejectWhy, number> = {
    too_large: 0,
    not_json: 0,
    schema: 0,
    duplicate: 0,
  };

  /** Settles with the first subscription's answer (true: the broker took it); counts sent before it are lost. */
  readonly subscribed: Promise<boolean>;
  private settleSubscribed: (ok: boolean) => void = () => undefined;

  constructor(private readonly options: MqttCountersOptions) {
    this.subscribed = new Promise((resolve) => {
      this.settleSubscribed = resolve;
    });
  }

  start(): void {
    const { client } = this.options;
    client.on('message', this.onMessage);
    // Subscribed again on every connect: the controller's session is clean.
    client.on('connect', this.subscribe);
    if (client.connected) this.subscribe();
  }

  stop(): void {
    const { client, topics } = this.options;
    client.off('message', this.onMessage);
    client.off('connect', this.subscribe);
    if (client.connected) client.unsubscribe([...topics.keys()]);
  }

  private readonly subscribe = (): void => {
    this.options.client.subscribe([...this.options.topics.keys()], { qos: 1 }, (error) => {
      if (error) this.options.log.error({ err: error.message }, 'counter topics not subscribed');
      this.settleSubscribed(!error);
    });
  };

  private readonly onMessage = (topic: string, payload: Buffer): void => {
    const door = this.options.topics.get(topic);
    if (door === undefined) return;
    const checked = parseCounter(payload);
    if (!checked.ok) {
      this.reject(door, checked.why, checked.detail);
      return;
    }
    const { value } = checked;
    if (value.id !== undefined) {
      const seen = this.recent.get(door) ?? [];
      if (seen.includes(value.id)) {
        this.reject(door, 'duplicate', '');
        return;
      }
      seen.push(value.id);
      if (seen.length > RECENT_IDS) seen.shift();
      this.recent.set(door, seen);
    }
    this.options.onPassages(door, value.in, value.out, value.ts ? new Date(value.ts) : undefined);
  };

  private reject(door: string, why: CounterRejectWhy, detail: string): void {
    this.rejected[why]++;
    this.options.log.warn({ door, why, detail: detail.slice(0, 200) }, 'counter message refused');
    this.options.onRejected(door, why);
  }
}
