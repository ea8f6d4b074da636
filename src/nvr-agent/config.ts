/** Config of the recorder agent (its own YAML file on the recorder host). */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { Ajv } from 'ajv';
import cron from 'node-cron';
import { Document, isDocument, LineCounter, parseDocument } from 'yaml';
import { type AppliedMigration, migrateDocument } from '../config/migrate.ts';
import { locate } from '../config/yaml-position.ts';
import { CAMERA_NAME_PATTERN } from '../contract/nvr.ts';
import { AGENT_CONFIG_VERSION, agentMigrations } from './migrations.ts';
import {
  type RecorderOptions,
  recorderPaths,
  recorderSchema,
  resolveRecorderPaths,
} from './recorders/index.ts';
import {
  type AgentAuthConfig,
  type AgentTlsConfig,
  agentAuthSchema,
  agentTlsSchema,
  resolveAuthPaths,
} from './auth.ts';

export interface AgentConfig {
  /** After loading: the current version (older files are migrated in memory). */
  version?: number | undefined;
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
  /** Which recorder the agent drives (`kind` picks the backend in recorders/index.ts). */
  recorder: RecorderOptions;
  /** The recorder's media folder (Frigate: `/media/frigate`), scanned for stale patron images. */
  media_root?: string | undefined;
  exports_dir: string;
  /** Exports (all cases together) may not grow past this; checked before copying. */
  exports_budget_mb: number;
  /** Widest export or hold window accepted. */
  max_window_hours: number;
  /** A hold lapses this long after the request that set it (its `ts`). */
  hold_max_days: number;
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
  /** What loading noticed but accepted (an old `recordings:` section, …); the agent logs them at start. */
  warnings?: string[];
}

export const agentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['mqtt', 'exports_dir', 'state_file', 'auth'],
  properties: {
    version: { type: 'integer', minimum: 1 },
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
    recorder: recorderSchema,
    media_root: { type: 'string', minLength: 1 },
    exports_dir: { type: 'string', minLength: 1 },
    exports_budget_mb: { type: 'integer', minimum: 1, maximum: 100_000_000, default: 20_480 },
    max_window_hours: { type: 'number', exclusiveMinimum: 0, maximum: 744, default: 24 },
    hold_max_days: { type: 'integer', minimum: 1, maximum: 365, default: 30 },
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

// discriminator: one clear error for a wrong `recorder.kind`, and defaults filled inside the chosen kind.
const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false, discriminator: true }).compile(
  agentSchema,
);

const inside = (parent: string, child: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** What reading an agent config found: the config (when valid), every problem, the migrations applied. */
/** One problem: dotted key (empty for the whole file), line when read from a file, what is wrong. */
export interface AgentConfigProblem {
  key: string;
  line: number | null;
  message: string;
}

export interface AgentConfigInspection {
  config: AgentConfig | null;
  problems: AgentConfigProblem[];
  fromVersion: number;
  migrations: AppliedMigration[];
  doc: Document;
}

/** Validates a parsed config (defaults filled in place); throws one Error listing every problem. */
export function checkAgentConfig(data: unknown, baseDir = process.cwd()): AgentConfig {
  const { config, problems } = inspectAgentDocument(isDocument(data) ? data : new Document(data), baseDir);
  if (!config) throw new Error(`agent config: ${describeProblems(problems)}`);
  return config;
}

const describeProblems = (problems: AgentConfigProblem[]): string =>
  problems.map((p) => (p.key ? `${p.key}: ${p.message}` : p.message)).join('; ');

/** Migrates the document to the current version (in memory), then validates it. */
export function inspectAgentDocument(
  doc: Document,
  baseDir = process.cwd(),
  lineOf: (offset: number | undefined) => number | null = () => null,
): AgentConfigInspection {
  const migration = migrateDocument(doc, agentMigrations, AGENT_CONFIG_VERSION);
  const at = (key: string, message: string): AgentConfigProblem => ({
    key,
    line: lineOf(locate(doc, key ? key.split('.') : [])),
    message,
  });
  const result: AgentConfigInspection = {
    config: null,
    problems: migration.problems.map((p) => ({ key: p.key, line: lineOf(p.offset), message: p.message })),
    fromVersion: migration.from,
    migrations: migration.applied,
    doc,
  };
  if (result.problems.length > 0) return result;
  const data: unknown = doc.toJS();
  if (typeof data === 'object' && data !== null && (data as { recorder?: unknown }).recorder === undefined) {
    result.problems.push(at('recorder', 'recorder: {kind, …} is required'));
    return result;
  }
  if (!validate(data)) {
    result.problems = (validate.errors ?? [])
      .filter((e) => e.keyword !== 'if')
      .map((e) => {
        const path = e.instancePath.split('/').slice(1);
        if (e.keyword === 'additionalProperties') path.push(String(e.params.additionalProperty));
        return at(path.join('.'), e.message ?? e.keyword);
      });
    return result;
  }
  const warnings = migration.applied.map((m) => m.note);
  const cfg = data as unknown as AgentConfig;
  if (warnings.length > 0) cfg.warnings = warnings;
  const problems: AgentConfigProblem[] = [];
  resolveRecorderPaths(cfg.recorder, baseDir);
  if (cfg.media_root) cfg.media_root = resolve(baseDir, cfg.media_root);
  cfg.exports_dir = resolve(baseDir, cfg.exports_dir);
  cfg.state_file = resolve(baseDir, cfg.state_file);
  if (cfg.mqtt.password_file) cfg.mqtt.password_file = resolve(baseDir, cfg.mqtt.password_file);
  resolveAuthPaths(cfg.auth, cfg.mqtt.tls, baseDir);
  const ids = cfg.auth.keys.map((k) => k.id);
  if (new Set(ids).size !== ids.length) problems.push(at('auth.keys', 'key ids must be unique'));
  for (const owned of recorderPaths(cfg.recorder)) {
    if (inside(owned, cfg.exports_dir) || inside(cfg.exports_dir, owned)) {
      problems.push(at('exports_dir', `exports_dir and the recorder's ${owned} must not contain each other`));
    }
    if (inside(owned, cfg.state_file))
      problems.push(at('state_file', `state_file must not be inside the recorder's ${owned}`));
  }
  if (!cron.validate(cfg.purge_cron))
    problems.push(at('purge_cron', `"${cfg.purge_cron}" is not a valid cron expression`));
  if (cfg.retention_days > 7 && !cfg.legal_override) {
    problems.push(at('retention_days', 'above 7 needs legal_override: {reason, max_days}'));
  }
  if (cfg.legal_override && cfg.retention_days > cfg.legal_override.max_days) {
    problems.push(at('retention_days', 'is above legal_override.max_days'));
  }
  result.problems = problems;
  if (problems.length === 0) {
    cfg.version = AGENT_CONFIG_VERSION;
    result.config = cfg;
  }
  return result;
}

/** Reads a config file (YAML errors included in the problems). */
export function inspectAgentConfigFile(file: string): AgentConfigInspection {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? null : lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    return {
      config: null,
      problems: doc.errors.map((e) => ({
        key: '',
        line: lineOf(e.pos[0]),
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
      fromVersion: 1,
      migrations: [],
      doc,
    };
  }
  return inspectAgentDocument(doc, dirname(resolve(file)), lineOf);
}

export function loadAgentConfig(file: string): AgentConfig {
  const { config, problems } = inspectAgentConfigFile(file);
  if (!config) throw new Error(`agent config: ${describeProblems(problems)}`);
  return config;
}
