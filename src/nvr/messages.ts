/** Strict checks of what the recorder agent sends the controller. Anything else is dropped with a log line. */
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import {
  CAMERA_NAME_PATTERN,
  type ExportResponse,
  FINDING_KINDS,
  MAX_NVR_PAYLOAD_BYTES,
  type NvrStatus,
  type PurgeResponse,
  REQUEST_ID_PATTERN,
} from '../contract/nvr.ts';

const isoTime = {
  type: 'string',
  maxLength: 40,
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$',
};
const nullableIso = { anyOf: [isoTime, { type: 'null' }] };
const id = { type: 'string', pattern: REQUEST_ID_PATTERN };

export const purgeResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'ok', 'deleted', 'oldest'],
  properties: {
    id,
    ok: { type: 'boolean' },
    deleted: { type: 'integer', minimum: 0 },
    oldest: nullableIso,
    error: { type: 'string', maxLength: 1000 },
  },
};

export const exportResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'ok', 'state'],
  properties: {
    id,
    ok: { type: 'boolean' },
    state: { enum: ['accepted', 'done', 'failed'] },
    location: { type: 'string', maxLength: 4096 },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    files: { type: 'integer', minimum: 0 },
    error: { type: 'string', maxLength: 1000 },
  },
};

export const statusSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['oldest', 'cameras', 'ts'],
  properties: {
    oldest: nullableIso,
    cameras: {
      type: 'array',
      maxItems: 256,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'oldest', 'files'],
        properties: {
          name: { type: 'string', pattern: CAMERA_NAME_PATTERN },
          oldest: nullableIso,
          files: { type: 'integer', minimum: 0 },
        },
      },
    },
    ts: isoTime,
    recorder: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'version', 'purges', 'note'],
      properties: {
        kind: { enum: ['files', 'frigate'] },
        version: { anyOf: [{ type: 'string', maxLength: 64 }, { type: 'null' }] },
        purges: { type: 'boolean' },
        note: { type: 'string', maxLength: 500 },
      },
    },
    findings: {
      type: 'array',
      maxItems: 200,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'detail'],
        properties: {
          kind: { enum: [...FINDING_KINDS] },
          detail: { type: 'string', maxLength: 500 },
          camera: { type: 'string', pattern: CAMERA_NAME_PATTERN },
          oldest: isoTime,
          count: { type: 'integer', minimum: 0 },
        },
      },
    },
    skipped: {
      type: 'array',
      maxItems: 200,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path', 'why'],
        properties: { path: { type: 'string', maxLength: 1000 }, why: { type: 'string', maxLength: 500 } },
      },
    },
    rejected: {
      type: 'object',
      maxProperties: 16,
      propertyNames: { pattern: '^[a-z_]{1,32}$' },
      additionalProperties: { type: 'integer', minimum: 0 },
    },
  },
};

// Loaded and compiled on the first answer, not at import: the controller is loaded while the doors start.
let compiled:
  | {
      purge: ValidateFunction<PurgeResponse>;
      export: ValidateFunction<ExportResponse>;
      status: ValidateFunction<NvrStatus>;
    }
  | undefined;
function checks() {
  if (compiled) return compiled;
  const { Ajv } = createRequire(import.meta.url)('ajv') as { Ajv: typeof AjvClass };
  const ajv = new Ajv({ allErrors: false, strict: false });
  compiled = {
    purge: ajv.compile<PurgeResponse>(purgeResponseSchema),
    export: ajv.compile<ExportResponse>(exportResponseSchema),
    status: ajv.compile<NvrStatus>(statusSchema),
  };
  return compiled;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };

function parse<T>(payload: Buffer, check: ValidateFunction<T>): Parsed<T> {
  if (payload.length > MAX_NVR_PAYLOAD_BYTES)
    return { ok: false, why: `payload too large (${payload.length} bytes)` };
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  if (!check(data)) {
    const e = check.errors?.[0];
    return { ok: false, why: `invalid: ${e ? `${e.instancePath || '(top)'} ${e.message}` : 'schema'}` };
  }
  // Times must also be real dates, not just the right shape.
  for (const t of timesIn(data))
    if (Number.isNaN(Date.parse(t))) return { ok: false, why: `invalid time ${t}` };
  return { ok: true, value: data as T };
}

function timesIn(data: unknown): string[] {
  const out: string[] = [];
  const d = data as {
    oldest?: unknown;
    ts?: unknown;
    cameras?: { oldest?: unknown }[];
    findings?: { oldest?: unknown }[];
  };
  const inList = (list: { oldest?: unknown }[] | undefined) =>
    Array.isArray(list) ? list.map((c) => c?.oldest) : [];
  for (const v of [d.oldest, d.ts, ...inList(d.cameras), ...inList(d.findings)]) {
    if (typeof v === 'string') out.push(v);
  }
  return out;
}

export const parsePurgeResponse = (p: Buffer) => parse<PurgeResponse>(p, checks().purge);
export const parseExportResponse = (p: Buffer) => parse<ExportResponse>(p, checks().export);
export const parseNvrStatus = (p: Buffer) => parse<NvrStatus>(p, checks().status);
