/** The fleet centre's config file (`dorvakt fleet --config FILE`), validated like the site's. */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { ConfigError } from '../config/load.ts';
import { secretRef, type SecretRef } from '../config/secret-ref.ts';
import type { MqttTlsConfig } from '../events/mqtt-tls.ts';
import { checkWebConfig, type WebConfig, webSchema } from '../web/config.ts';

export interface FleetSiteConfig {
  id: string;
  name: string;
  /** The site's fleet key: signs the alarm acknowledgements sent to it (the branch has the same key). */
  key?: SecretRef | undefined;
}

export interface FleetCentreConfig {
  name: string;
  language: 'nb' | 'da' | 'en';
  timezone: string;
  store: { path: string };
  mqtt: {
    url: string;
    username?: string | undefined;
    password?: SecretRef | undefined;
    tls?: MqttTlsConfig | undefined;
    client_id: string;
  };
  web: WebConfig;
  /** A site with no message for this long raises site_offline. */
  offline_after_minutes: number;
  check_seconds: number;
  sites: FleetSiteConfig[];
  log: { level: string };
}

const SITE_ID = '^(?!fleet$)[a-z0-9][a-z0-9_-]{0,62}$';

export const fleetCentreSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sites'],
  properties: {
    name: { type: 'string', default: 'Dørvakt fleet' },
    language: { type: 'string', enum: ['nb', 'da', 'en'], default: 'nb' },
    timezone: { type: 'string', default: 'Europe/Oslo' },
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { path: { type: 'string', default: '/var/lib/dorvakt-fleet/fleet.sqlite' } },
    },
    mqtt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
        username: { type: 'string' },
        password: secretRef,
        tls: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ca_file: { type: 'string', minLength: 1 },
            cert_file: { type: 'string', minLength: 1 },
            key_file: { type: 'string', minLength: 1 },
            reject_unauthorized: { type: 'boolean', default: true },
          },
        },
        client_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'dorvakt-fleet-centre' },
      },
    },
    web: { ...webSchema, default: {} },
    offline_after_minutes: { type: 'number', exclusiveMinimum: 0, maximum: 10080, default: 15 },
    check_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 30 },
    sites: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: { type: 'string', pattern: SITE_ID },
          name: { type: 'string', default: '' },
          key: secretRef,
        },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { level: { type: 'string', default: 'info' } },
    },
  },
} as const;

/** Parses and checks a fleet config text (defaults filled in); throws ConfigError naming every problem. */
export function parseFleetConfig(text: string, file: string): FleetCentreConfig {
  const data = (parse(text) ?? {}) as unknown;
  const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(fleetCentreSchema);
  if (!validate(data)) {
    throw new ConfigError(
      file,
      (validate.errors ?? []).map((e) => ({
        key: e.instancePath.slice(1).replaceAll('/', '.'),
        line: null,
        message: e.message ?? e.keyword,
      })),
    );
  }
  const config = data as FleetCentreConfig;
  const ids = config.sites.map((s) => s.id);
  const problems = ids
    .filter((id, i) => ids.indexOf(id) !== i)
    .map((id) => ({ key: 'sites', line: null, message: `site "${id}" is listed twice` }));
  for (const p of checkWebConfig(config.web))
    problems.push({ key: `web.${p.key}`, line: null, message: p.message });
  if (problems.length) throw new ConfigError(file, problems);
  return config;
}

export function loadFleetConfig(file: string): FleetCentreConfig {
  return parseFleetConfig(readFileSync(file, 'utf8'), file);
}
