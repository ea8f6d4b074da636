/** Config section `occupancy`: people counters per door, the closing sweep and tailgating. Owned by src/occupancy. */
import { type GpioPin, gpioPinSchema } from '../door/config.ts';
import { secretRef, type SecretRef } from '../config/secret-ref.ts';

/** A directional beam pair: `outside` (A) and `inside` (B); A then B is a passage in, B then A one out. */
export interface BeamPairConfig {
  outside: GpioPin;
  inside: GpioPin;
  /** A beam's change within this long of its previous accepted change is chatter, not a new break. */
  debounce_ms: number;
  /** A passage begun (one beam broken) but not finished within this long is abandoned, not counted. */
  timeout_ms: number;
}

export interface CounterDoorConfig {
  door: string;
  beams?: BeamPairConfig | undefined;
  /** A networked counter; `topic` defaults to `<base>/counter/<door>`. */
  mqtt?: { topic?: string | undefined } | undefined;
}

export interface WebhookConfig {
  url: string;
  /** Sent as `Authorization: Bearer …` when given. */
  token?: SecretRef | undefined;
  timeout_ms: number;
  /** Tries after the first, with doubling waits from `retry_ms`. */
  retries: number;
  retry_ms: number;
}

export interface ClosingSweepConfig {
  enabled: boolean;
  /** The state output (`states.outputs[].id`) that arms the intruder alarm: its `closed` value arms. */
  output?: string | undefined;
  /** How often a held-back arming is checked again. */
  recheck_seconds: number;
  /** Publish `<base>/oncall` for on-call staff. */
  mqtt: boolean;
  webhook?: WebhookConfig | undefined;
}

export interface OccupancyConfig {
  enabled: boolean;
  /** The sysfs root for beam and motion lines. */
  sysfs_root: string;
  /** Local time `HH:MM` each night when "inside now" goes back to 0, once the door is closed. */
  reset_at: string;
  doors: CounterDoorConfig[];
  /** A motion detector (GPIO, logical 1 = motion): active at closing holds the arming like people inside. */
  motion?: (GpioPin & { debounce_ms: number }) | undefined;
  closing_sweep: ClosingSweepConfig;
  tailgating: { enabled: boolean; bookmark: boolean };
}

const TOPIC = { type: 'string', pattern: '^[^#+]+$', maxLength: 200 } as const;

export const occupancySchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enabled: { type: 'boolean', default: false },
    sysfs_root: { type: 'string', default: '/sys/class/gpio' },
    reset_at: { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', default: '03:00' },
    doors: {
      type: 'array',
      default: [],
      maxItems: 32,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['door'],
        properties: {
          door: { type: 'string' },
          beams: {
            type: 'object',
            additionalProperties: false,
            required: ['outside', 'inside'],
            properties: {
              outside: gpioPinSchema,
              inside: gpioPinSchema,
              debounce_ms: { type: 'integer', minimum: 0, maximum: 1000, default: 30 },
              timeout_ms: { type: 'integer', minimum: 100, maximum: 60_000, default: 3000 },
            },
          },
          mqtt: {
            type: 'object',
            additionalProperties: false,
            properties: { topic: TOPIC },
          },
        },
      },
    },
    motion: {
      ...gpioPinSchema,
      properties: {
        ...gpioPinSchema.properties,
        debounce_ms: { type: 'integer', minimum: 0, maximum: 600_000, default: 500 },
      },
    },
    closing_sweep: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        output: { type: 'string' },
        recheck_seconds: { type: 'integer', minimum: 10, maximum: 3600, default: 60 },
        mqtt: { type: 'boolean', default: true },
        webhook: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: {
            url: { type: 'string', pattern: '^https?://', maxLength: 500 },
            token: secretRef,
            timeout_ms: { type: 'integer', minimum: 100, maximum: 60_000, default: 5000 },
            retries: { type: 'integer', minimum: 0, maximum: 10, default: 3 },
            retry_ms: { type: 'integer', minimum: 10, maximum: 600_000, default: 2000 },
          },
        },
      },
    },
    tailgating: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        bookmark: { type: 'boolean', default: false },
      },
    },
  },
} as const;

/** Rules the schema cannot say (keys relative to `occupancy`). */
export function checkOccupancyConfig(
  cfg: OccupancyConfig,
  doorIds: string[],
  outputIds: string[],
): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  const seen = new Set<string>();
  cfg.doors.forEach((d, i) => {
    if (!doorIds.includes(d.door)) problems.push({ key: `doors.${i}.door`, message: `no door "${d.door}"` });
    if (seen.has(d.door)) problems.push({ key: `doors.${i}.door`, message: `door "${d.door}" twice` });
    seen.add(d.door);
    if (!d.beams === !d.mqtt)
      problems.push({ key: `doors.${i}`, message: 'give exactly one of beams or mqtt' });
  });
  const sweep = cfg.closing_sweep;
  if (cfg.enabled && sweep.enabled && sweep.output !== undefined && !outputIds.includes(sweep.output))
    problems.push({ key: 'closing_sweep.output', message: `no states output "${sweep.output}"` });
  return problems;
}

/** The schema's defaults, but enabled: for code that builds the section without a config file (tests, bench). */
export function occupancyDefaults(overrides: Partial<OccupancyConfig> = {}): OccupancyConfig {
  return {
    enabled: true,
    sysfs_root: '/sys/class/gpio',
    reset_at: '03:00',
    doors: [],
    ...overrides,
    closing_sweep: { enabled: true, recheck_seconds: 60, mqtt: true, ...overrides.closing_sweep },
    tailgating: { enabled: true, bookmark: false, ...overrides.tailgating },
  };
}
