/** Strict checks of incoming requests. A payload that fails any of them changes nothing. */
import { Ajv } from 'ajv';
import {
  CAMERA_NAME_PATTERN,
  EXPORT_CASE_PATTERN,
  type ExportRequest,
  MAX_NVR_PAYLOAD_BYTES,
  type PurgeRequest,
  REQUEST_ID_PATTERN,
} from '../contract/nvr.ts';

const isoTime = {
  type: 'string',
  maxLength: 40,
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$',
};
const cameras = {
  type: 'array',
  maxItems: 256,
  uniqueItems: true,
  items: { type: 'string', pattern: CAMERA_NAME_PATTERN },
};

export const purgeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'before', 'cameras', 'holds', 'ts'],
  properties: {
    id: { type: 'string', pattern: REQUEST_ID_PATTERN },
    before: isoTime,
    cameras,
    holds: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to', 'cameras'],
        properties: {
          from: isoTime,
          to: isoTime,
          cameras,
          case: { type: 'string', pattern: EXPORT_CASE_PATTERN },
        },
      },
    },
    ts: isoTime,
  },
};

export const exportSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'case', 'from', 'to', 'cameras', 'ts'],
  properties: {
    id: { type: 'string', pattern: REQUEST_ID_PATTERN },
    case: { type: 'string', pattern: EXPORT_CASE_PATTERN },
    from: isoTime,
    to: isoTime,
    cameras,
    ts: isoTime,
  },
};

const ajv = new Ajv({ allErrors: false, strict: false });
const checkPurge = ajv.compile<PurgeRequest>(purgeSchema);
const checkExport = ajv.compile<ExportRequest>(exportSchema);

export type Checked<T> = { ok: true; value: T } | { ok: false; why: string };

function decode(payload: Buffer): Checked<unknown> {
  if (payload.length > MAX_NVR_PAYLOAD_BYTES)
    return { ok: false, why: `payload too large (${payload.length} bytes)` };
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) };
  } catch {
    return { ok: false, why: 'not JSON' };
  }
}

const badTime = (...times: string[]) => times.find((t) => Number.isNaN(Date.parse(t)));

export function parsePurgeRequest(payload: Buffer): Checked<PurgeRequest> {
  const decoded = decode(payload);
  if (!decoded.ok) return decoded;
  if (!checkPurge(decoded.value)) {
    const e = checkPurge.errors?.[0];
    return {
      ok: false,
      why: `invalid purge request: ${e?.instancePath || '(top)'} ${e?.message ?? ''}`.trim(),
    };
  }
  const r = decoded.value;
  const bad = badTime(r.before, r.ts, ...r.holds.flatMap((h) => [h.from, h.to]));
  if (bad) return { ok: false, why: `invalid time ${bad}` };
  if (r.holds.some((h) => Date.parse(h.from) > Date.parse(h.to)))
    return { ok: false, why: 'hold ends before it starts' };
  return { ok: true, value: r };
}

export function parseExportRequest(payload: Buffer): Checked<ExportRequest> {
  const decoded = decode(payload);
  if (!decoded.ok) return decoded;
  if (!checkExport(decoded.value)) {
    const e = checkExport.errors?.[0];
    return {
      ok: false,
      why: `invalid export request: ${e?.instancePath || '(top)'} ${e?.message ?? ''}`.trim(),
    };
  }
  const r = decoded.value;
  const bad = badTime(r.from, r.to, r.ts);
  if (bad) return { ok: false, why: `invalid time ${bad}` };
  if (Date.parse(r.from) >= Date.parse(r.to))
    return { ok: false, why: 'export window ends before it starts' };
  return { ok: true, value: r };
}
