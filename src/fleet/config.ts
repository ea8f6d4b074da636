/** Config section `fleet` of a branch: its figures to the centre and the centre's alarm acknowledgements. */
import { secretRef, type SecretRef } from '../config/secret-ref.ts';

export interface FleetBranchConfig {
  enabled: boolean;
  /** The site's fleet key (HMAC of the centre's alarm acknowledgements); without it they are refused. */
  key?: SecretRef | undefined;
  /** How often changed hours are looked for, and unacknowledged figures sent. */
  scan_seconds: number;
  send_seconds: number;
  /** Messages per send: a week of queued hours drains in a few sends, never in one burst. */
  batch: number;
  backfill_days: number;
  backoff: { min_ms: number; max_ms: number };
  health_seconds: number;
  keep_acked_days: number;
}

export const fleetBranchSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enabled: { type: 'boolean', default: false },
    key: secretRef,
    scan_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 60 },
    send_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 5 },
    batch: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
    backfill_days: { type: 'integer', minimum: 1, maximum: 366, default: 7 },
    backoff: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        min_ms: { type: 'integer', minimum: 100, default: 30_000 },
        max_ms: { type: 'integer', minimum: 100, default: 3_600_000 },
      },
    },
    health_seconds: { type: 'integer', minimum: 10, maximum: 86400, default: 300 },
    keep_acked_days: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
  },
} as const;
