/** Config section: camera retention. Owned by src/nvr (see the camera-retention issue). */
import cron from 'node-cron';
import { secretRef } from '../config/secret-ref.ts';
import type { SecretRef } from '../config/secret-ref.ts';
import { CAMERA_NAME_PATTERN } from '../contract/nvr.ts';
import {
  type FrigateRecordingConfig,
  frigateRecordingDefaults,
  frigateRecordingSchema,
} from './frigate-recording.ts';
import { DEFAULT_MAX_SKEW_SECONDS, NVR_KEY_ID_PATTERN } from '../contract/nvr-auth.ts';

/** Keys shared with the recorder agent: the first signs, every one verifies (two during a rotation). */
export interface NvrAuthConfig {
  keys: { id: string; secret: SecretRef }[];
  /** Messages signed further than this from our clock are dropped. */
  max_skew_seconds: number;
  /** `nvr_forgery` clears after this long without a forgery (alarms have no clear-on-acknowledge). */
  forgery_quiet_hours: number;
}

export interface NvrConfig {
  enabled: boolean;
  /** MQTT base topic of the recorder agent (`<base>/purge/request`, …). */
  base_topic: string;
  /** Footage older than this is purged. More than 7 needs `legal_override`. */
  retention_days: number;
  /** Set only when a legal basis allows keeping footage longer than 7 days. */
  legal_override?: { reason: string; max_days: number } | undefined;
  /** node-cron expression for the purge request (default hourly). */
  purge_cron: string;
  /** Cameras the purge covers; empty means every camera the agent finds. */
  cameras: string[];
  /** How long to wait for an answer before sending again. */
  answer_timeout_ms: number;
  /** Unanswered sends before `nvr_unreachable` is raised (sending goes on after that). */
  max_tries: number;
  backoff: { factor: number; max_ms: number };
  /** Footage this much older than `before` in a purge answer counts as a breach (segment slack). */
  breach_tolerance_minutes: number;
  /** The agent's status may show footage up to retention + this (its own purge interval + slack). */
  status_grace_minutes: number;
  /** Holds end after this many days unless renewed with a reason. */
  hold_max_days: number;
  /** Frigate recording on only in some schedule modes; independent of `enabled` (see frigate-recording.ts). */
  frigate_recording: FrigateRecordingConfig;
  /** Widest export (hold) window an admin may open; the agent enforces its own `max_window_hours` too. */
  max_window_hours: number;
  /** Required when enabled (the config check says so). */
  auth?: NvrAuthConfig | undefined;
}

export const nvrSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: false },
    base_topic: { type: 'string', pattern: '^[^#+]+$', default: 'nvr' },
    retention_days: {
      type: 'integer',
      minimum: 1,
      maximum: 365,
      default: 7,
      description: 'At most 7 unless legal_override is set.',
    },
    legal_override: {
      type: 'object',
      additionalProperties: false,
      required: ['reason', 'max_days'],
      properties: {
        reason: { type: 'string', minLength: 10 },
        max_days: { type: 'integer', minimum: 8, maximum: 365 },
      },
    },
    purge_cron: { type: 'string', minLength: 9, default: '0 * * * *' },
    cameras: {
      type: 'array',
      items: { type: 'string', pattern: CAMERA_NAME_PATTERN },
      uniqueItems: true,
      maxItems: 64,
      default: [],
    },
    answer_timeout_ms: { type: 'integer', minimum: 10, maximum: 3_600_000, default: 30_000 },
    max_tries: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
    backoff: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        factor: { type: 'number', minimum: 1, maximum: 10, default: 2 },
        max_ms: { type: 'integer', minimum: 10, maximum: 86_400_000, default: 600_000 },
      },
    },
    breach_tolerance_minutes: { type: 'integer', minimum: 0, maximum: 1440, default: 15 },
    status_grace_minutes: { type: 'integer', minimum: 0, maximum: 10_080, default: 90 },
    hold_max_days: { type: 'integer', minimum: 1, maximum: 365, default: 30 },
    frigate_recording: frigateRecordingSchema,
    max_window_hours: { type: 'number', exclusiveMinimum: 0, maximum: 744, default: 24 },
    auth: {
      type: 'object',
      additionalProperties: false,
      required: ['keys'],
      properties: {
        keys: {
          type: 'array',
          minItems: 1,
          maxItems: 4,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'secret'],
            properties: { id: { type: 'string', pattern: NVR_KEY_ID_PATTERN }, secret: secretRef },
          },
        },
        max_skew_seconds: {
          type: 'integer',
          minimum: 5,
          maximum: 3600,
          default: DEFAULT_MAX_SKEW_SECONDS,
        },
        forgery_quiet_hours: { type: 'number', minimum: 0, maximum: 720, default: 24 },
      },
    },
  },
  // More than 7 days only with an explicit legal override (checkNvrConfig says it in words).
  if: { not: { required: ['legal_override'] } },
  then: { properties: { retention_days: { maximum: 7 } } },
} as const;

/**
 * Rules the schema cannot say; the config loader adds these to its semantic problems (key relative to `nvr`).
 * `controllerBaseTopic` is `mqtt.base_topic` (resolved): the recorder's `<nvr>/status` must not be the
 * controller's own `<base>/status`.
 */
export function checkNvrConfig(
  cfg: NvrConfig,
  controllerBaseTopic?: string,
): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  if (controllerBaseTopic !== undefined && cfg.base_topic === controllerBaseTopic) {
    problems.push({
      key: 'base_topic',
      message: 'must differ from mqtt.base_topic (both use <base>/status)',
    });
  }
  if (cfg.retention_days > 7 && !cfg.legal_override) {
    problems.push({
      key: 'retention_days',
      message: 'footage may be kept at most 7 days; more needs legal_override: {reason, max_days}',
    });
  }
  if (cfg.legal_override && cfg.retention_days > cfg.legal_override.max_days) {
    problems.push({
      key: 'retention_days',
      message: `retention_days ${cfg.retention_days} is above legal_override.max_days ${cfg.legal_override.max_days}`,
    });
  }
  if (!cron.validate(cfg.purge_cron)) {
    problems.push({ key: 'purge_cron', message: `"${cfg.purge_cron}" is not a valid cron expression` });
  }
  if (cfg.enabled && !cfg.auth) {
    problems.push({
      key: 'auth',
      message:
        'required when nvr.enabled: keys: [{id, secret: {file: PATH}}] shared with the recorder agent (see docs/mqtt.md)',
    });
  }
  const ids = cfg.auth?.keys.map((k) => k.id) ?? [];
  if (new Set(ids).size !== ids.length)
    problems.push({ key: 'auth.keys', message: 'key ids must be unique' });
  if (cfg.backoff.max_ms < cfg.answer_timeout_ms) {
    problems.push({ key: 'backoff.max_ms', message: 'must be at least answer_timeout_ms' });
  }
  return problems;
}

/** Fills defaults for code paths that build a config without the loader (tests, the CLI). */
export function nvrConfigDefaults(partial: Partial<NvrConfig> = {}): NvrConfig {
  return {
    enabled: true,
    base_topic: 'nvr',
    retention_days: 7,
    purge_cron: '0 * * * *',
    cameras: [],
    answer_timeout_ms: 30_000,
    max_tries: 5,
    breach_tolerance_minutes: 15,
    status_grace_minutes: 90,
    hold_max_days: 30,
    max_window_hours: 24,
    ...partial,
    backoff: { factor: 2, max_ms: 600_000, ...partial.backoff },
    frigate_recording: frigateRecordingDefaults(partial.frigate_recording),
  };
}
