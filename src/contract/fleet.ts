/**
 * The fleet messages between a branch and the centre (docs/mqtt.md "Fleet", docs/fleet.md). Shared by the
 * branch publisher and the central service, nothing else. No identity crosses: figures are counts per hour.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const FLEET_VERSION = 1;

/** Branch → centre, QoS 1, not retained. */
export const figuresTopic = (base: string): string => `${base}/fleet/figures`;
/** Branch → centre, QoS 1, not retained: one ISO week's opening hours per day (FleetOpeningHours). */
export const openingHoursTopic = (base: string): string => `${base}/fleet/opening-hours`;
/** Branch → centre, QoS 1, retained: the branch's retention health and queue length. */
export const healthTopic = (base: string): string => `${base}/fleet/health`;
/** The bridge's own notification topic (Mosquitto `notification_topic`): `1` up, `0` down (its will). */
export const bridgeTopic = (base: string): string => `${base}/fleet/bridge`;
/** Centre → branch, QoS 1: figures stored. */
export const ackTopic = (site: string): string => `dorvakt/fleet/site/${site}/ack`;
/** Centre → branch, QoS 1: an alarm acknowledged centrally. */
export const alarmAckTopic = (site: string): string => `dorvakt/fleet/site/${site}/alarm-ack`;

/** One anonymous count: the entry_stats key without any patron key. */
export interface FigureRow {
  door: string;
  mode: string;
  outcome: 'granted' | 'denied';
  reason: string;
  category: string;
  age_band: string;
  count: number;
}

/**
 * People-counter passages through one door in one local hour and door mode (passages_hourly): counts only,
 * no identity.
 */
export interface PassageRow {
  door: string;
  mode: string;
  in: number;
  out: number;
}

/**
 * One local hour of one branch, whole: its entry figures and its passages. A newer `made_at` for the same hour
 * replaces the older figures and passages. v 2 added `passages`; the centre still takes v 1 (no passages).
 */
export interface FleetFigures {
  v: 1 | 2;
  /** `<instance>-<outbox id>`: unique per branch store for ever; the centre answers each once-stored id again. */
  id: string;
  day: string;
  hour: number;
  /** When the branch built this revision (UTC ms); the centre keeps the newest per hour. */
  made_at: number;
  rows: FigureRow[];
  /** Always present in v 2; a v 1 message is read with none. */
  passages: PassageRow[];
}

/** The version of FleetFigures a branch sends. */
export const FIGURES_VERSION = 2;

/** Staffed and staffless opening hours of one local day (elapsed hours, from the door's day plans). */
export interface DayOpeningHours {
  day: string;
  staffed: number;
  staffless: number;
}

/**
 * One ISO week of a branch, whole: every day of it the branch has computed. Versioned like FleetFigures (same
 * id space, same acknowledgement): a newer `made_at` for the same week replaces the older days.
 */
export interface FleetOpeningHours {
  v: 1;
  id: string;
  /** 'YYYY-Www'. */
  week: string;
  made_at: number;
  days: DayOpeningHours[];
}

export interface FleetAck {
  v: 1;
  id: string;
}

export interface FleetHealth {
  v: 1;
  ts: string;
  /** Figures not yet acknowledged by the centre. */
  pending_figures: number;
  /** The oldest entry that still carries a card hash (UTC ms), or null. */
  oldest_identified: number | null;
  identified_days: number;
  /** False when an identified entry is older than identified_days plus a day: anonymisation is behind. */
  retention_ok: boolean;
}

/** Signed with the site's fleet key: an acknowledgement changes the branch's alarm list and its audit. */
export interface FleetAlarmAck {
  v: 1;
  /** The alarm code as the branch published it. */
  alarm: string;
  /** The alarm's scope as published (`null`: site-wide). */
  scope: string | null;
  /** The central user, as `name`. */
  by: string;
  /** When it was acknowledged (UTC ms): only alarms raised before then are acknowledged. */
  at: number;
  mac: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const WORD = /^[\w:.-]{1,64}$/;
/** A dashboard user name (src/web/users.ts). */
const USER = /^[\p{L}\p{N}._@-]{1,64}$/u;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A parsed message or why it was refused (the refusal is counted by the receiver). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };

function parseJson(payload: Buffer | string): unknown {
  try {
    return JSON.parse(payload.toString());
  } catch {
    return undefined;
  }
}

export function parseFigures(payload: Buffer | string): Parsed<FleetFigures> {
  const m = parseJson(payload);
  if (!isObject(m) || (m.v !== 1 && m.v !== 2)) return { ok: false, why: 'not a v1 or v2 object' };
  if (typeof m.id !== 'string' || !/^[0-9a-f]{1,32}-\d{1,15}$/.test(m.id)) return { ok: false, why: 'id' };
  if (typeof m.day !== 'string' || !DAY.test(m.day)) return { ok: false, why: 'day' };
  if (!Number.isInteger(m.hour) || (m.hour as number) < 0 || (m.hour as number) > 23)
    return { ok: false, why: 'hour' };
  if (!Number.isSafeInteger(m.made_at) || (m.made_at as number) < 0) return { ok: false, why: 'made_at' };
  if (!Array.isArray(m.rows) || m.rows.length > 10_000) return { ok: false, why: 'rows' };
  const allowed = m.v === 1 ? V1_FIGURES_KEYS : V2_FIGURES_KEYS;
  if (Object.keys(m).some((k) => !allowed.has(k))) return { ok: false, why: 'key' };
  const rows: FigureRow[] = [];
  for (const r of m.rows) {
    if (!isObject(r)) return { ok: false, why: 'row' };
    const { door, mode, outcome, reason, category, age_band, count } = r;
    if (outcome !== 'granted' && outcome !== 'denied') return { ok: false, why: 'row outcome' };
    for (const text of [door, mode, reason])
      if (typeof text !== 'string' || !WORD.test(text)) return { ok: false, why: 'row text' };
    for (const text of [category, age_band])
      if (typeof text !== 'string' || text.length > 64) return { ok: false, why: 'row text' };
    if (!Number.isSafeInteger(count) || (count as number) < 0) return { ok: false, why: 'row count' };
    rows.push({
      door: door as string,
      mode: mode as string,
      outcome,
      reason: reason as string,
      category: category as string,
      age_band: age_band as string,
      count: count as number,
    });
  }
  const passages: PassageRow[] = [];
  if (m.v === 2) {
    if (!Array.isArray(m.passages) || m.passages.length > 1000) return { ok: false, why: 'passages' };
    for (const p of m.passages) {
      if (!isObject(p) || Object.keys(p).some((k) => !PASSAGE_KEYS.has(k)))
        return { ok: false, why: 'passage' };
      for (const text of [p.door, p.mode])
        if (typeof text !== 'string' || !WORD.test(text)) return { ok: false, why: 'passage text' };
      for (const n of [p.in, p.out])
        if (!Number.isSafeInteger(n) || (n as number) < 0) return { ok: false, why: 'passage count' };
      passages.push({
        door: p.door as string,
        mode: p.mode as string,
        in: p.in as number,
        out: p.out as number,
      });
    }
  }
  return {
    ok: true,
    value: {
      v: m.v,
      id: m.id,
      day: m.day,
      hour: m.hour as number,
      made_at: m.made_at as number,
      rows,
      passages,
    },
  };
}

const V1_FIGURES_KEYS = new Set(['v', 'id', 'day', 'hour', 'made_at', 'rows']);
const V2_FIGURES_KEYS = new Set([...V1_FIGURES_KEYS, 'passages']);
const PASSAGE_KEYS = new Set(['door', 'mode', 'in', 'out']);

const WEEK = /^\d{4}-W\d{2}$/;
/** A local day lasts at most 25 hours (the autumn change). */
const DAY_HOURS_MAX = 25;

export function parseOpeningHours(payload: Buffer | string): Parsed<FleetOpeningHours> {
  const m = parseJson(payload);
  if (!isObject(m) || m.v !== 1) return { ok: false, why: 'not a v1 object' };
  if (typeof m.id !== 'string' || !/^[0-9a-f]{1,32}-\d{1,15}$/.test(m.id)) return { ok: false, why: 'id' };
  if (typeof m.week !== 'string' || !WEEK.test(m.week)) return { ok: false, why: 'week' };
  if (!Number.isSafeInteger(m.made_at) || (m.made_at as number) < 0) return { ok: false, why: 'made_at' };
  if (!Array.isArray(m.days) || m.days.length > 7) return { ok: false, why: 'days' };
  const days: DayOpeningHours[] = [];
  for (const d of m.days) {
    if (!isObject(d) || typeof d.day !== 'string' || !DAY.test(d.day)) return { ok: false, why: 'day' };
    for (const h of [d.staffed, d.staffless])
      if (typeof h !== 'number' || !Number.isFinite(h) || h < 0 || h > DAY_HOURS_MAX)
        return { ok: false, why: 'hours' };
    days.push({ day: d.day, staffed: d.staffed as number, staffless: d.staffless as number });
  }
  return { ok: true, value: { v: 1, id: m.id, week: m.week, made_at: m.made_at as number, days } };
}

export function parseAck(payload: Buffer | string): Parsed<FleetAck> {
  const m = parseJson(payload);
  if (!isObject(m) || m.v !== 1 || typeof m.id !== 'string' || m.id.length > 48)
    return { ok: false, why: 'ack' };
  return { ok: true, value: { v: 1, id: m.id } };
}

export function parseHealth(payload: Buffer | string): Parsed<FleetHealth> {
  const m = parseJson(payload);
  if (!isObject(m) || m.v !== 1) return { ok: false, why: 'not a v1 object' };
  if (typeof m.ts !== 'string' || !Number.isSafeInteger(m.pending_figures))
    return { ok: false, why: 'health' };
  if (m.oldest_identified !== null && !Number.isSafeInteger(m.oldest_identified))
    return { ok: false, why: 'oldest_identified' };
  if (!Number.isSafeInteger(m.identified_days) || typeof m.retention_ok !== 'boolean')
    return { ok: false, why: 'health' };
  return { ok: true, value: m as unknown as FleetHealth };
}

function alarmAckText(site: string, a: Omit<FleetAlarmAck, 'mac' | 'v'>): string {
  return ['dorvakt-fleet-alarm-ack-v1', site, a.alarm, a.scope ?? '', a.by, String(a.at)].join('\n');
}

/** HMAC-SHA256 (hex) over the site and every field, with the site's fleet key. */
export function signAlarmAck(site: string, key: Buffer, a: Omit<FleetAlarmAck, 'mac' | 'v'>): FleetAlarmAck {
  const mac = createHmac('sha256', key).update(alarmAckText(site, a)).digest('hex');
  return { v: 1, ...a, mac };
}

export function parseAlarmAck(site: string, key: Buffer, payload: Buffer | string): Parsed<FleetAlarmAck> {
  const m = parseJson(payload);
  if (!isObject(m) || m.v !== 1) return { ok: false, why: 'not a v1 object' };
  if (typeof m.alarm !== 'string' || !WORD.test(m.alarm)) return { ok: false, why: 'alarm' };
  if (m.scope !== null && (typeof m.scope !== 'string' || m.scope.length > 128))
    return { ok: false, why: 'scope' };
  if (typeof m.by !== 'string' || !USER.test(m.by)) return { ok: false, why: 'by' };
  if (!Number.isSafeInteger(m.at)) return { ok: false, why: 'at' };
  if (typeof m.mac !== 'string' || !/^[0-9a-f]{64}$/.test(m.mac)) return { ok: false, why: 'unsigned' };
  const value = { alarm: m.alarm, scope: m.scope as string | null, by: m.by, at: m.at as number };
  const expected = Buffer.from(signAlarmAck(site, key, value).mac, 'hex');
  if (!timingSafeEqual(expected, Buffer.from(m.mac, 'hex'))) return { ok: false, why: 'bad_mac' };
  return { ok: true, value: { v: 1, ...value, mac: m.mac } };
}

/** JSON Schemas of the fleet payloads, as docs/mqtt-schemas/fleet-v*-*.schema.json (a test keeps them equal). */
const figureRowSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['door', 'mode', 'outcome', 'reason', 'category', 'age_band', 'count'],
  properties: {
    door: { type: 'string', pattern: '^[\\w:.-]{1,64}$' },
    mode: { type: 'string', pattern: '^[\\w:.-]{1,64}$' },
    outcome: { enum: ['granted', 'denied'] },
    reason: { type: 'string', pattern: '^[\\w:.-]{1,64}$' },
    category: { type: 'string', maxLength: 64 },
    age_band: { type: 'string', maxLength: 64 },
    count: { type: 'integer', minimum: 0 },
  },
} as const;

/** What a branch before v 2 sends: the centre still takes it (as an hour without passages). */
export const fleetFiguresV1Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:fleet:v1:figures',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'id', 'day', 'hour', 'made_at', 'rows'],
  properties: {
    v: { const: 1 },
    id: { type: 'string', pattern: '^[0-9a-f]{1,32}-\\d{1,15}$' },
    day: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    hour: { type: 'integer', minimum: 0, maximum: 23 },
    made_at: { type: 'integer', minimum: 0 },
    rows: { type: 'array', maxItems: 10000, items: figureRowSchema },
  },
} as const;

export const fleetFiguresSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:fleet:v2:figures',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'id', 'day', 'hour', 'made_at', 'rows', 'passages'],
  properties: {
    ...fleetFiguresV1Schema.properties,
    v: { const: 2 },
    passages: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['door', 'mode', 'in', 'out'],
        properties: {
          door: { type: 'string', pattern: '^[\\w:.-]{1,64}$' },
          mode: { type: 'string', pattern: '^[\\w:.-]{1,64}$' },
          in: { type: 'integer', minimum: 0 },
          out: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
} as const;

export const fleetOpeningHoursSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:fleet:v1:opening-hours',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'id', 'week', 'made_at', 'days'],
  properties: {
    v: { const: 1 },
    id: { type: 'string', pattern: '^[0-9a-f]{1,32}-\\d{1,15}$' },
    week: { type: 'string', pattern: '^\\d{4}-W\\d{2}$' },
    made_at: { type: 'integer', minimum: 0 },
    days: {
      type: 'array',
      maxItems: 7,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['day', 'staffed', 'staffless'],
        properties: {
          day: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
          staffed: { type: 'number', minimum: 0, maximum: 25 },
          staffless: { type: 'number', minimum: 0, maximum: 25 },
        },
      },
    },
  },
} as const;

export const fleetAckSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:fleet:v1:ack',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'id'],
  properties: { v: { const: 1 }, id: { type: 'string', maxLength: 48 } },
} as const;

export const fleetHealthSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:fleet:v1:health',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'ts', 'pending_figures', 'oldest_identified', 'identified_days', 'retention_ok'],
  properties: {
    v: { const: 1 },
    ts: { type: 'string' },
    pending_figures: { type: 'integer', minimum: 0 },
    oldest_identified: { type: ['integer', 'null'] },
    identified_days: { type: 'integer', minimum: 1 },
    retention_ok: { type: 'boolean' },
  },
} as const;

export const fleetAlarmAckSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:mqtt:fleet:v1:alarm-ack',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'alarm', 'scope', 'by', 'at', 'mac'],
  properties: {
    v: { const: 1 },
    alarm: { type: 'string', pattern: '^[\\w:.-]{1,64}$' },
    scope: { type: ['string', 'null'], maxLength: 128 },
    by: { type: 'string', minLength: 1, maxLength: 64 },
    at: { type: 'integer' },
    mac: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const;

export const FLEET_SCHEMAS = {
  'fleet-v1-figures': fleetFiguresV1Schema,
  'fleet-v2-figures': fleetFiguresSchema,
  'fleet-v1-opening-hours': fleetOpeningHoursSchema,
  'fleet-v1-ack': fleetAckSchema,
  'fleet-v1-health': fleetHealthSchema,
  'fleet-v1-alarm-ack': fleetAlarmAckSchema,
} as const;
