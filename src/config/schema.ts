import { doorHardwareSchema } from '../door/config.ts';
import { fleetRulesProperties } from '../fleet-rules/config.ts';
import { homeAssistantSchema } from '../homeassistant/config.ts';
import { fleetBranchSchema } from '../fleet/config.ts';
import { ilsSchema } from '../ils/config.ts';
import { nvrSchema } from '../nvr/config.ts';
import { occupancySchema } from '../occupancy/config.ts';
import { readerSchema } from '../reader/config.ts';
import { scheduleSchema } from '../schedule/config.ts';
import { statesSchema } from '../states/config.ts';
import { webSchema } from '../web/config.ts';
import { secretRef } from './secret-ref.ts';

/** The whole config file. Module sections live next to their modules; this file only composes. */
export const configSchema = {
  $id: 'https://dorvakt.example/config.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['site', 'doors', 'secrets'],
  properties: {
    version: {
      type: 'integer',
      minimum: 1,
      description: 'The config shape this file is written in (config/migrations.ts); none: the oldest.',
    },
    site: {
      type: 'object',
      additionalProperties: false,
      required: ['id'],
      properties: {
        id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
        name: { type: 'string', default: '' },
        timezone: { type: 'string', default: 'Europe/Oslo' },
        country: { type: 'string', enum: ['NO', 'DK', 'SE', 'FI', 'IS', 'DE'], default: 'NO' },
        region: { type: 'string' },
        language: { type: 'string', enum: ['nb', 'da', 'en'], default: 'nb' },
      },
    },
    secrets: {
      type: 'object',
      additionalProperties: false,
      required: ['card_hmac_key'],
      properties: { card_hmac_key: secretRef },
    },
    doors: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'schedule', 'reader'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' },
          name: { type: 'string' },
          staffed_mode: { type: 'string', enum: ['card', 'unlocked'], default: 'card' },
          require_pin: { type: 'boolean', default: false },
          schedule: scheduleSchema,
          reader: readerSchema,
          hardware: { ...doorHardwareSchema, default: {} },
        },
      },
    },
    access: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        min_age: { type: 'integer', minimum: 0, maximum: 25, default: 15 },
        categories_allowed_alone: { type: 'array', items: { type: 'string' }, default: [] },
        categories_denied: { type: 'array', items: { type: 'string' }, default: [] },
        // Optional: what staff read for a library-system category code, per dashboard language.
        category_labels: {
          type: 'object',
          maxProperties: 200,
          propertyNames: { minLength: 1, maxLength: 40 },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              nb: { type: 'string', minLength: 1, maxLength: 80 },
              da: { type: 'string', minLength: 1, maxLength: 80 },
              en: { type: 'string', minLength: 1, maxLength: 80 },
            },
          },
        },
        pin_lockout_attempts: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
        pin_lockout_minutes: { type: 'integer', minimum: 1, maximum: 1440, default: 15 },
      },
    },
    patrons: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        source: { type: 'string', enum: ['local', 'sip2'], default: 'local' },
        inactive_years: { type: 'integer', minimum: 1, maximum: 10, default: 3 },
        offline_policy: { type: 'string', enum: ['deny', 'allow_known'], default: 'deny' },
        offline_known_days: { type: 'integer', minimum: 1, maximum: 90, default: 14 },
      },
    },
    ils: ilsSchema,
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: { type: 'string', default: '/var/lib/dorvakt/dorvakt.sqlite' },
        // When a swipe's entry reaches the disk: after the relay (a power cut may lose the last milliseconds of
        // entries) or before it (the relay waits for the disk). README, "Decisions and reason codes".
        entry_sync: { type: 'string', enum: ['after_relay', 'before_relay'], default: 'after_relay' },
      },
    },
    entries: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        identified_days: { type: 'integer', minimum: 1, maximum: 365, default: 30 },
        // When the nightly anonymisation runs (cron, the site's time zone); check-config parses it.
        anonymise_at: { type: 'string', minLength: 9, maxLength: 60, default: '15 3 * * *' },
      },
    },
    mqtt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
        base_topic: { type: 'string', pattern: '^[^#+]+$' },
        username: { type: 'string' },
        password: secretRef,
        tls: {
          type: 'object',
          additionalProperties: false,
          description: 'For mqtts:// URLs: CA to trust, client certificate and key (files).',
          properties: {
            ca_file: { type: 'string', minLength: 1 },
            cert_file: { type: 'string', minLength: 1 },
            key_file: { type: 'string', minLength: 1 },
            reject_unauthorized: { type: 'boolean', default: true },
          },
        },
        protocol_version: {
          enum: [4, 5],
          description:
            'MQTT 5 or 3.1.1 (4). Default: 5 for an external broker, 4 for the embedded one (aedes speaks 3.1.1 only).',
        },
        embedded_fallback: {
          type: 'boolean',
          default: false,
          description: 'Start an embedded broker (aedes) on the URL port when nothing listens there.',
        },
      },
    },
    nvr: { ...nvrSchema, default: {} },
    homeassistant: homeAssistantSchema,
    // One section, two owners: figures to the centre (src/fleet), the centre's signed rules (src/fleet-rules).
    fleet: {
      ...fleetBranchSchema,
      description:
        "This branch in a fleet: figures to the centre (docs/fleet.md), the centre's signed rules (docs/fleet-rules.md).",
      properties: { ...fleetBranchSchema.properties, ...fleetRulesProperties },
    },
    states: statesSchema,
    occupancy: occupancySchema,
    web: { ...webSchema, default: {} },
    ops: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Machine endpoints without personal data: /healthz, /api/state, /metrics.',
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 9105 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: {
          type: 'string',
          enum: ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'],
          default: 'info',
        },
      },
    },
  },
  allOf: [
    {
      if: {
        required: ['patrons'],
        properties: { patrons: { required: ['source'], properties: { source: { const: 'sip2' } } } },
      },
      then: { required: ['ils'] },
    },
  ],
} as const;
