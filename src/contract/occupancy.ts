/**
 * MQTT payloads of the people counter and what it leads to (docs/mqtt.md, "Occupancy"): a counter's report
 * (in), the on-call notice and the camera bookmark request (out). None carries identity: counts, a door, times.
 */
import { CONTRACT_VERSION } from './mqtt.ts';

/** Passages one counter message may report; more is a faulty counter (or an attack), refused. */
export const COUNTER_MAX_PASSAGES = 1000;

/** What a networked people counter publishes on its topic: passages since its previous message. */
export interface CounterPayload {
  in: number;
  out: number;
  /** When the counter saw them; the controller's clock is used when absent. */
  ts?: string | undefined;
  /** The counter's message id: a redelivered message (QoS 1) with an id seen lately is not counted again. */
  id?: string | undefined;
}

/** `<base>/oncall`: tells on-call staff (an SMS or chat gateway subscribes) that people are still inside at closing. */
export interface OnCallPayload {
  v: typeof CONTRACT_VERSION;
  alarm: 'occupied_at_close';
  /** `raised` when the arming is held back at closing; `cleared` once it is free to arm (or closing is over). */
  state: 'raised' | 'cleared';
  site: string;
  /** People inside by the counter, or null when the counter does not know. */
  inside: number | null;
  /** A motion input is active. */
  motion: boolean;
  ts: string;
}

/** `<base>/camera/bookmark`: asks the recorder to mark a moment (a request; it deletes and holds nothing). */
export interface BookmarkPayload {
  v: typeof CONTRACT_VERSION;
  door: string;
  /** The moment to mark: when the door relocked after the passages. */
  at: string;
  /** When the door opened (the window the recorder may show). */
  from: string;
  reason: 'tailgating';
  ts: string;
}

const TS = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$' } as const;
const DOOR_ID = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' } as const;
const PASSAGES = { type: 'integer', minimum: 0, maximum: COUNTER_MAX_PASSAGES } as const;

export const counterSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:v2:counter',
  type: 'object',
  additionalProperties: false,
  required: ['in', 'out'],
  properties: {
    in: PASSAGES,
    out: PASSAGES,
    ts: TS,
    id: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

export const onCallSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:v2:oncall',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'alarm', 'state', 'site', 'inside', 'motion', 'ts'],
  properties: {
    v: { const: CONTRACT_VERSION },
    alarm: { const: 'occupied_at_close' },
    state: { enum: ['raised', 'cleared'] },
    site: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
    inside: { type: ['integer', 'null'], minimum: 0 },
    motion: { type: 'boolean' },
    ts: TS,
  },
} as const;

export const bookmarkSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:v2:bookmark',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'door', 'at', 'from', 'reason', 'ts'],
  properties: {
    v: { const: CONTRACT_VERSION },
    door: DOOR_ID,
    at: TS,
    from: TS,
    reason: { const: 'tailgating' },
    ts: TS,
  },
} as const;
