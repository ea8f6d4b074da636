/**
 * MQTT contract v2 of the controller's own topics (`<base>/…`): payload types and their JSON Schemas.
 * docs/mqtt.md is the prose of this file; change them together. Consumers validate with
 * `src/contract/mqtt-check.ts` (or any JSON Schema validator, draft 2019-09 or 07, fed these schemas).
 * No payload carries identity: no card, card hash, PIN, name, category or entry id.
 */
import {
  ALARM_CODES,
  type AlarmCode,
  type EmergencyKind,
  SITE_STATES,
  type ScheduleState,
  type SiteState,
} from './events.ts';
import { READER_REJECT_REASONS, type ReaderRejectReason } from './reader.ts';
import { DENY_REASONS, type DenyReason, GRANT_REASONS, type GrantReason } from './reasons.ts';

/** Raised on every incompatible change of the payloads below; carried as `v` in each event and in info. */
export const CONTRACT_VERSION = 2;

export const SCHEDULE_STATES = ['staffed', 'staffless', 'closed'] as const;

/** Alarm details are operator text; longer ones are cut to this many characters before sending. */
export const ALARM_DETAIL_MAX = 300;

interface WireEventBase {
  v: typeof CONTRACT_VERSION;
  ts: string;
}

/** `<base>/event` payloads, one shape per `type`. */
export type WireEvent =
  | (WireEventBase &
      (
        | { type: 'entry'; door: string; outcome: 'granted'; reason: GrantReason; mode: ScheduleState }
        | { type: 'entry'; door: string; outcome: 'denied'; reason: DenyReason; mode: ScheduleState }
      ))
  | (WireEventBase & {
      type: 'alarm';
      alarm: AlarmCode;
      state: 'raised' | 'cleared';
      /** What the alarm is about: a door id, `camera:<name>`, a part name; null when site-wide. */
      scope: string | null;
      /** Operator text (only when raised); null when none. */
      detail: string | null;
    })
  | (WireEventBase & {
      type: 'door';
      door: string;
      locked: boolean;
      open: boolean;
      /** Held unlocked (staffed-unlocked hours, a staff manual unlock, or fire). */
      held: boolean;
      fire: boolean;
      mode: ScheduleState;
    })
  | (WireEventBase & {
      type: 'mode';
      door: string;
      mode: ScheduleState;
      /** The next scheduled change, or null when none is planned. */
      next: { mode: ScheduleState; at: string } | null;
    })
  | (WireEventBase & { type: 'closing_soon'; door: string; minutes: number; at: string })
  | (WireEventBase & { type: 'manual_unlock'; door: string; minutes: number; until: string })
  | (WireEventBase & { type: 'reader_rejected'; door: string; why: ReaderRejectReason })
  | (WireEventBase & {
      type: 'emergency';
      state: 'started' | 'ended';
      mode: 'nobody' | 'everybody';
      until: string;
      ended: 'expired' | 'ended' | null;
    })
  | (WireEventBase & {
      type: 'state';
      state: SiteState;
      previous: SiteState | null;
      emergency: EmergencyKind | null;
      next: { state: SiteState; at: string } | null;
    })
  | (WireEventBase & { type: 'output'; output: string; value: string; state: SiteState })
  | (WireEventBase & { type: 'announcement'; minutes: number; at: string; languages: string[] })
  | (WireEventBase & { type: 'occupancy'; door: string; direction: 'in' | 'out' | 'reset'; inside: number });

export type WireEventType = WireEvent['type'];
export const WIRE_EVENT_TYPES = [
  'entry',
  'alarm',
  'door',
  'mode',
  'closing_soon',
  'manual_unlock',
  'reader_rejected',
  'emergency',
  'state',
  'output',
  'announcement',
  'occupancy',
] as const satisfies readonly WireEventType[];

/** Retained per-door state (`<base>/door/<door>/state`). */
export interface DoorStatePayload {
  locked: boolean;
  open: boolean;
  held: boolean;
  fire: boolean;
  mode: ScheduleState;
  alarm: AlarmCode[];
  ts: string;
}

/**
 * Retained per-door figures of the local day (`<base>/door/<door>/today`): granted entries in staffless hours
 * since local midnight. Published while `homeassistant.enabled` (its sensor reads it), on every entry at the
 * door, at local midnight and on every (re)connect. A count, never who.
 */
export interface DoorTodayPayload {
  /** The site's local date `YYYY-MM-DD` the count is of. */
  date: string;
  staffless_visits: number;
  ts: string;
}

/** Retained description of the controller (`<base>/info`), republished on every (re)connect. */
export interface InfoPayload {
  v: typeof CONTRACT_VERSION;
  /** The contract version of every `<base>/…` payload (same as `v`). */
  contract: typeof CONTRACT_VERSION;
  software: { name: 'dorvakt'; version: string };
  site: { id: string; name: string };
  doors: { id: string; name: string }[];
  capabilities: {
    /** Camera retention through the recorder agent (`nvr.enabled`). */
    nvr: boolean;
    /** Frigate's recording toggled by the schedule (`nvr.frigate_recording.enabled`). */
    frigate_recording: boolean;
    /** At least one door asks for a PIN. */
    pin: boolean;
    /** Where patrons are checked: the library system over SIP2, or the local list. */
    patrons: 'sip2' | 'local';
    /** The MQTT protocol the controller speaks on this connection: 4 (3.1.1) or 5. */
    mqtt_protocol: 4 | 5;
  };
  ts: string;
}

const TS = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$' } as const;
const DOOR_ID = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' } as const;
const MODE = { type: 'string', enum: SCHEDULE_STATES } as const;
const V = { const: CONTRACT_VERSION } as const;
const SITE_STATE = { type: 'string', enum: SITE_STATES } as const;
/** More people than this inside one building is a counter fault; counts stop there. */
export const OCCUPANCY_MAX = 100_000;
/** State output ids, as in the config (`states.outputs[].id`). */
export const OUTPUT_ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';
/** An output's value: `on`/`off` for a GPIO line, the configured payload for a topic. */
export const OUTPUT_VALUE_MAX = 200;

function eventShape(type: WireEventType, properties: Record<string, unknown>, more: object = {}) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['v', 'type', ...Object.keys(properties), 'ts'],
    properties: { v: V, type: { const: type }, ...properties, ts: TS },
    ...more,
  } as const;
}

/** JSON Schema of every `<base>/event` payload: one branch per `type`, no other keys allowed. */
export const eventSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:v2:event',
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [
    eventShape(
      'entry',
      {
        door: DOOR_ID,
        outcome: { enum: ['granted', 'denied'] },
        reason: { type: 'string', enum: [...GRANT_REASONS, ...DENY_REASONS] },
        mode: MODE,
      },
      // A granted entry names a grant reason, a denied one a deny reason.
      {
        if: { properties: { outcome: { const: 'granted' } } },
        then: { properties: { reason: { enum: GRANT_REASONS } } },
        else: { properties: { reason: { enum: DENY_REASONS } } },
      },
    ),
    eventShape('alarm', {
      alarm: { type: 'string', enum: ALARM_CODES },
      state: { enum: ['raised', 'cleared'] },
      scope: { type: ['string', 'null'], minLength: 1, maxLength: 100 },
      detail: { type: ['string', 'null'], maxLength: ALARM_DETAIL_MAX },
    }),
    eventShape('door', {
      door: DOOR_ID,
      locked: { type: 'boolean' },
      open: { type: 'boolean' },
      held: { type: 'boolean' },
      fire: { type: 'boolean' },
      mode: MODE,
    }),
    eventShape('mode', {
      door: DOOR_ID,
      mode: MODE,
      next: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['mode', 'at'],
            properties: { mode: MODE, at: TS },
          },
        ],
      },
    }),
    eventShape('closing_soon', {
      door: DOOR_ID,
      minutes: { type: 'integer', minimum: 1, maximum: 240 },
      at: TS,
    }),
    eventShape('manual_unlock', {
      door: DOOR_ID,
      minutes: { type: 'integer', minimum: 1, maximum: 240 },
      until: TS,
    }),
    eventShape('reader_rejected', {
      door: DOOR_ID,
      why: { type: 'string', enum: READER_REJECT_REASONS },
    }),
    eventShape('emergency', {
      state: { enum: ['started', 'ended'] },
      mode: { enum: ['nobody', 'everybody'] },
      until: TS,
      ended: { enum: ['expired', 'ended', null] },
    }),
    eventShape('state', {
      state: SITE_STATE,
      previous: { oneOf: [{ type: 'null' }, SITE_STATE] },
      emergency: { oneOf: [{ type: 'null' }, { type: 'string', enum: ['nobody', 'everybody'] }] },
      next: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['state', 'at'],
            properties: { state: SITE_STATE, at: TS },
          },
        ],
      },
    }),
    eventShape('output', {
      output: { type: 'string', pattern: OUTPUT_ID_PATTERN },
      value: { type: 'string', maxLength: OUTPUT_VALUE_MAX },
      state: SITE_STATE,
    }),
    eventShape('announcement', {
      minutes: { type: 'integer', minimum: 1, maximum: 240 },
      at: TS,
      languages: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { type: 'string', enum: ['nb', 'da', 'en'] },
      },
    }),
    eventShape('occupancy', {
      door: DOOR_ID,
      direction: { enum: ['in', 'out', 'reset'] },
      inside: { type: 'integer', minimum: 0, maximum: OCCUPANCY_MAX },
    }),
  ],
} as const;

/** JSON Schema of `<base>/door/<door>/state`. */
export const doorStateSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:v2:door-state',
  type: 'object',
  additionalProperties: false,
  required: ['locked', 'open', 'held', 'fire', 'mode', 'alarm', 'ts'],
  properties: {
    locked: { type: 'boolean' },
    open: { type: 'boolean' },
    held: { type: 'boolean' },
    fire: { type: 'boolean' },
    mode: MODE,
    alarm: { type: 'array', uniqueItems: true, items: { type: 'string', enum: ALARM_CODES } },
    ts: TS,
  },
} as const;

/** JSON Schema of `<base>/info`. */
export const infoSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:v2:info',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'contract', 'software', 'site', 'doors', 'capabilities', 'ts'],
  properties: {
    v: V,
    contract: V,
    software: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'version'],
      properties: {
        name: { const: 'dorvakt' },
        version: { type: 'string', minLength: 1, maxLength: 64 },
      },
    },
    site: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name'],
      properties: {
        id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
        name: { type: 'string', maxLength: 200 },
      },
    },
    doors: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name'],
        properties: { id: DOOR_ID, name: { type: 'string', maxLength: 200 } },
      },
    },
    capabilities: {
      type: 'object',
      additionalProperties: false,
      required: ['nvr', 'frigate_recording', 'pin', 'patrons', 'mqtt_protocol'],
      properties: {
        nvr: { type: 'boolean' },
        frigate_recording: { type: 'boolean' },
        pin: { type: 'boolean' },
        patrons: { enum: ['sip2', 'local'] },
        mqtt_protocol: { enum: [4, 5] },
      },
    },
    ts: TS,
  },
} as const;

/** JSON Schema of `<base>/door/<door>/today`. */
export const doorTodaySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:v2:door-today',
  type: 'object',
  additionalProperties: false,
  required: ['date', 'staffless_visits', 'ts'],
  properties: {
    date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    staffless_visits: { type: 'integer', minimum: 0 },
    ts: TS,
  },
} as const;
