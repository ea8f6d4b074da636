/** Config of the recorder agent (its own YAML file on the recorder host). */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { Ajv } from 'ajv';
import cron from 'node-cron';
import { parse } from 'yaml';
import { CAMERA_NAME_PATTERN } from '../contract/nvr.ts';
import {
  type AgentAuthConfig,
  type AgentTlsConfig,
  agentAuthSchema,
  agentTlsSchema,
  resolveAuthPaths,
} from './auth.ts';
import type { Layout } from './layout.ts';

export interface AgentConfig {
  mqtt: {
    url: string;
    /** Same value as the controller's `nvr.base_topic`. */
    base_topic: string;
    client_id: string;
    username?: string | undefined;
    /** File holding the broker password (never the password itself). */
    password_file?: string | undefined;
    /** 5 where the broker speaks MQTT 5 (Mosquitto); 4 for MQTT 3.1.1 brokers. */
    protocol_version: 4 | 5;
    /** For `mqtts://` URLs: CA, client certificate and key (files). */
    tls?: AgentTlsConfig | undefined;
  };
  /** Keys shared with the controller: every message is sealed and verified (docs/mqtt.md). */
  auth: AgentAuthConfig;
  recordings: {
    root: string;
    layout: Layout;
    /** Assumed segment length, for overlap with holds and export windows. */
    segment_seconds: number;
  };
  exports_dir: string;
  /** Holds and recent answers survive a restart here. */
  state_file: string;
  /** The agent's own purge, so retention holds while the controller is away. */
  purge_cron: string;
  retention_days: number;
  legal_override?: { reason: string; max_days: number } | undefined;
  /** Cameras the own purge covers; empty: every camera found. */
  cameras: string[];
  /** A purge request may not cut newer footage than this (guards against a bad or hostile `before`). */
  min_keep_hours: number;
  log_level: string;
}

export const agentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['mqtt', 'recordings', 'exports_dir', 'state_file', 'auth'],
  properties: {
    mqtt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
        base_topic: { type: 'string', pattern: '^[^#+]+$', default: 'nvr' },
        client_id: { type: 'string', minLength: 1, maxLength: 64, default: 'dorvakt-nvr-agent' },
        username: { type: 'string' },
        password_file: { type: 'string' },
        protocol_version: { enum: [4, 5], default: 5 },
        tls: agentTlsSchema,
      },
    },
    auth: agentAuthSchema,
    recordings: {
      type: 'object',
      additionalProperties: false,
      required: ['root'],
      properties: {
        root: { type: 'string', minLength: 1 },
        layout: { enum: ['frigate', 'flat'], default: 'frigate' },
        segment_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 10 },
      },
    },
    exports_dir: { type: 'string', minLength: 1 },
    state_file: { type: 'string', minLength: 1 },
    purge_cron: { type: 'string', default: '*/15 * * * *' },
    retention_days: { type: 'integer', minimum: 1, maximum: 365, default: 7 },
    legal_override: {
      type: 'object',
      additionalProperties: false,
      required: ['reason', 'max_days'],
      properties: {
        reason: { type: 'string', minLength: 10 },
        max_days: { type: 'integer', minimum: 8, maximum: 365 },
      },
    },
    cameras: {
      type: 'array',
      items: { type: 'string', pattern: CAMERA_NAME_PATTERN },
      uniqueItems: true,
      default: [],
    },
    min_keep_hours: { type: 'number', minimum: 0, maximum: 168, default: 1 },
    log_level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'], default: 'info' },
  },
  if: { not: { required: ['legal_override'] } },
  then: { properties: { retention_days: { maximum: 7 } } },
} as const;

const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(agentSchema);

const inside = (parent: string, child: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** Validates a parsed config (defaults filled in place); throws one Error listing every problem. */
export function checkAgentConfig(data: unknown, baseDir = process.cwd()): AgentConfig {
  if (!validate(data)) {
    const problems = (validate.errors ?? [])
      .filter((e) => e.keyword !== 'if')
      .map((e) => `${e.instancePath || '(top)'} ${e.message}`);
    throw new Error(`agent config: ${problems.join('; ')}`);
  }
  const cfg = data as unknown as AgentConfig;
  const problems: string[] = [];
  cfg.recordings.root = resolve(baseDir, cfg.recordings.root);
  cfg.exports_dir = resolve(baseDir, cfg.exports_dir);
  cfg.state_file = resolve(baseDir, cfg.state_file);
  if (cfg.mqtt.password_file) cfg.mqtt.password_file = resolve(baseDir, cfg.mqtt.password_file);
  resolveAuthPaths(cfg.auth, cfg.mqtt.tls, baseDir);
  const ids = cfg.auth.keys.map((k) => k.id);
  if (new Set(ids).size !== ids.length) problems.push('auth.keys: key ids must be unique');
  if (inside(cfg.recordings.root, cfg.exports_dir) || inside(cfg.exports_dir, cfg.recordings.root)) {
    problems.push('exports_dir and recordings.root must not contain each other');
  }
  if (inside(cfg.recordings.root, cfg.state_file))
    problems.push('state_file must not be inside recordings.root');
  if (!cron.validate(cfg.purge_cron))
    problems.push(`purge_cron "${cfg.purge_cron}" is not a valid cron expression`);
  if (cfg.retention_days > 7 && !cfg.legal_override) {
    problems.push('retention_days above 7 needs legal_override: {reason, max_days}');
  }
  if (cfg.legal_override && cfg.retention_days > cfg.legal_override.max_days) {
    problems.push('retention_days is above legal_override.max_days');
  }
  if (problems.length > 0) throw new Error(`agent config: ${problems.join('; ')}`);
  return cfg;
}

export function loadAgentConfig(file: string): AgentConfig {
  return checkAgentConfig(parse(readFileSync(file, 'utf8')) as unknown, dirname(resolve(file)));
}
