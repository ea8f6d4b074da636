/**
 * The fleet's rules document (docs/fleet-rules.md): the block list, passes and dated schedule exceptions the
 * centre pushes to every branch, signed with the fleet's Ed25519 key. Card data only as the keyed card hashes
 * the branches already use (one fleet-wide `secrets.card_hmac_key`).
 */
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import { PASS_KINDS, type PassKind } from '../local-access/passes.ts';

export interface FleetBlock {
  card_hash: string;
  /** At most the card's last four characters, for staff to tell rows apart; '' when the centre has none. */
  card_hint?: string | undefined;
  note: string;
  expires_at: string;
  /** Site ids it applies to; absent: every branch. */
  sites?: string[] | undefined;
}

export interface FleetPass {
  card_hash: string;
  card_hint?: string | undefined;
  kind: PassKind;
  note: string;
  /** Weekly hours as a local pass has them (src/local-access/pass-hours.ts). */
  hours: string;
  camera_consent: 'required' | 'not_required';
  expires_at: string;
  sites?: string[] | undefined;
}

export interface FleetException {
  /** Local date at the branch, `YYYY-MM-DD`. */
  date: string;
  sites?: string[] | undefined;
  /** Door ids at the branch; absent: every door. */
  doors?: string[] | undefined;
  closed?: boolean | undefined;
  staffed?: string | undefined;
  staffless?: string | undefined;
  note?: string | undefined;
}

export interface FleetRules {
  /** Raised by the centre for every change; a branch takes only a higher one. */
  version: number;
  issued_at: string;
  blocks: FleetBlock[];
  passes: FleetPass[];
  exceptions: FleetException[];
}

/** What travels on `dorvakt/fleet/rules`: the document as text and the signature over its UTF-8 bytes. */
export interface SignedRules {
  v: 1;
  /** The rules document, JSON text: signed as sent, so no canonical form is needed. */
  rules: string;
  /** Ed25519 signature of `rules` (UTF-8), base64. */
  signature: string;
}

/** Bigger payloads are refused unread. */
export const MAX_SIGNED_BYTES = 8 * 1024 * 1024;

const CARD_HASH = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const ISO = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$',
} as const;
const SITES = {
  type: 'array',
  minItems: 1,
  maxItems: 1000,
  uniqueItems: true,
  items: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
} as const;
const NOTE = { type: 'string', minLength: 3, maxLength: 200 } as const;
const HINT = { type: 'string', maxLength: 4 } as const;
/** Plain time ranges only (`10:00-14:00,16:00-18:00`): what every opening_hours version reads alike. */
export const EXCEPTION_HOURS_PATTERN =
  '^([01]\\d|2[0-4]):[0-5]\\d-([01]\\d|2[0-4]):[0-5]\\d(,([01]\\d|2[0-4]):[0-5]\\d-([01]\\d|2[0-4]):[0-5]\\d)*$';

export const fleetRulesSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:dorvakt:fleet:rules:v1',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'issued_at', 'blocks', 'passes', 'exceptions'],
  properties: {
    version: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    issued_at: ISO,
    blocks: {
      type: 'array',
      maxItems: 100_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['card_hash', 'note', 'expires_at'],
        properties: { card_hash: CARD_HASH, card_hint: HINT, note: NOTE, expires_at: ISO, sites: SITES },
      },
    },
    passes: {
      type: 'array',
      maxItems: 100_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['card_hash', 'kind', 'note', 'hours', 'camera_consent', 'expires_at'],
        properties: {
          card_hash: CARD_HASH,
          card_hint: HINT,
          kind: { enum: PASS_KINDS },
          note: NOTE,
          hours: { type: 'string', minLength: 1, maxLength: 200 },
          camera_consent: { enum: ['required', 'not_required'] },
          expires_at: ISO,
          sites: SITES,
        },
      },
    },
    exceptions: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['date'],
        properties: {
          date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
          sites: SITES,
          doors: {
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            items: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' },
          },
          closed: { type: 'boolean' },
          staffed: { type: 'string', pattern: EXCEPTION_HOURS_PATTERN },
          staffless: { type: 'string', pattern: EXCEPTION_HOURS_PATTERN },
          note: { type: 'string', maxLength: 200 },
        },
        // A closed day, or hours: never both, never neither (as a local exception).
        oneOf: [
          {
            required: ['closed'],
            properties: { closed: { const: true } },
            not: { anyOf: [{ required: ['staffed'] }, { required: ['staffless'] }] },
          },
          { not: { required: ['closed'] }, anyOf: [{ required: ['staffed'] }, { required: ['staffless'] }] },
        ],
      },
    },
  },
} as const;

const signedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'rules', 'signature'],
  properties: {
    v: { const: 1 },
    rules: { type: 'string', minLength: 2 },
    signature: { type: 'string', pattern: '^[A-Za-z0-9+/]{86}==$' },
  },
} as const;

const require = createRequire(import.meta.url);
let validators: { rules: ValidateFunction; signed: ValidateFunction } | undefined;
function compiled() {
  if (!validators) {
    const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
    const ajv = new Ajv({ allErrors: false, strict: false });
    validators = { rules: ajv.compile(fleetRulesSchema), signed: ajv.compile(signedSchema) };
  }
  return validators;
}

export type RulesCheck = { ok: true; rules: FleetRules } | { ok: false; error: string };

/** Checks a rules document's shape and its own rules (dates that exist, one exception per date and door). */
export function checkRules(value: unknown): RulesCheck {
  const { rules } = compiled();
  if (!rules(value)) {
    const first = rules.errors?.[0];
    return { ok: false, error: `${first?.instancePath || '(top)'} ${first?.message ?? 'invalid'}` };
  }
  const doc = value as FleetRules;
  for (const [i, item] of [...doc.blocks, ...doc.passes].entries()) {
    if (Number.isNaN(Date.parse(item.expires_at))) return { ok: false, error: `expiry ${i} is no date` };
  }
  if (Number.isNaN(Date.parse(doc.issued_at))) return { ok: false, error: 'issued_at is no date' };
  const seen = new Set<string>();
  for (const exception of doc.exceptions) {
    const day = new Date(`${exception.date}T12:00:00Z`);
    if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== exception.date)
      return { ok: false, error: `exception date ${exception.date} does not exist` };
    for (const door of exception.doors ?? ['*']) {
      for (const site of exception.sites ?? ['*']) {
        const key = `${exception.date}|${site}|${door}`;
        if (seen.has(key)) return { ok: false, error: `two exceptions for ${exception.date}` };
        seen.add(key);
      }
    }
  }
  return { ok: true, rules: doc };
}

export type EnvelopeCheck = { ok: true; signed: SignedRules } | { ok: false; why: 'malformed' | 'unsigned' };

/** Reads the signed envelope (not yet the signature): unsigned when it carries none. */
export function parseEnvelope(payload: Buffer | string): EnvelopeCheck {
  if (payload.length > MAX_SIGNED_BYTES) return { ok: false, why: 'malformed' };
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return { ok: false, why: 'malformed' };
  }
  if (value && typeof value === 'object' && !('signature' in value)) return { ok: false, why: 'unsigned' };
  if (!compiled().signed(value)) return { ok: false, why: 'malformed' };
  return { ok: true, signed: value as SignedRules };
}
