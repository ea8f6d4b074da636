/** Config section `states`: the site's states and the outputs and announcements they drive. Owned by src/states. */
import type { GpioPin } from '../door/config.ts';
import { OUTPUT_ID_PATTERN, OUTPUT_VALUE_MAX } from '../contract/mqtt.ts';
import type { SiteState } from '../contract/events.ts';

export type Language = 'nb' | 'da' | 'en';

/** An output's value in one state, set `offset_minutes` after the state begins (negative: before). */
export interface OutputSetting {
  value: string;
  offset_minutes: number;
}

export interface OutputConfig {
  id: string;
  /** A GPIO line (`on`/`off`), through the door's GPIO line layer. */
  gpio?: GpioPin | undefined;
  /** A topic the building's control system reads; published retained with QoS 1. */
  mqtt?: { topic: string } | undefined;
  /** The value in each state; a state not listed leaves the output as it was. */
  values: Partial<Record<SiteState, OutputSetting>>;
}

export interface AnnouncementsConfig {
  enabled: boolean;
  /** Minutes before closing (into closed) at which to announce. */
  minutes: number[];
  /** Languages spoken, in order; empty: the site's language. */
  languages: Language[];
  /** Folder with `<lang>/closing-<minutes>.txt|.wav` (and `<lang>/closing.txt` with `{minutes}`); default: shipped. */
  dir?: string | undefined;
  /** Play the WAV files on the box with `player`. */
  play: boolean;
  /** The player and its arguments; the file is added last (`aplay -q`, `pw-play`). */
  player: string[];
  /** A play that takes longer is killed. */
  player_timeout_seconds: number;
  /** Publish each announcement's text (not retained) for a networked speaker. */
  mqtt_topic?: string | undefined;
}

export interface StatesConfig {
  enabled: boolean;
  /** The door whose schedule the site follows; default the first door. */
  door?: string | undefined;
  /** `closing` begins this many minutes before the site goes into one of `closing_before`. 0: never. */
  closing_minutes: number;
  closing_before: ('closed' | 'staffless')[];
  /** The sysfs root for `gpio` outputs. */
  sysfs_root: string;
  outputs: OutputConfig[];
  announcements: AnnouncementsConfig;
}

const settingSchema = {
  oneOf: [
    { type: 'string', maxLength: OUTPUT_VALUE_MAX },
    { type: 'boolean' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['value'],
      properties: {
        value: { oneOf: [{ type: 'string', maxLength: OUTPUT_VALUE_MAX }, { type: 'boolean' }] },
        offset_minutes: { type: 'integer', minimum: -240, maximum: 1440, default: 0 },
      },
    },
  ],
} as const;

const LANGUAGES = ['nb', 'da', 'en'] as const;

export const statesSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enabled: { type: 'boolean', default: false },
    door: { type: 'string' },
    closing_minutes: { type: 'integer', minimum: 0, maximum: 240, default: 15 },
    closing_before: {
      type: 'array',
      uniqueItems: true,
      items: { enum: ['closed', 'staffless'] },
      default: ['closed'],
    },
    sysfs_root: { type: 'string', default: '/sys/class/gpio' },
    outputs: {
      type: 'array',
      default: [],
      maxItems: 32,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'values'],
        properties: {
          id: { type: 'string', pattern: OUTPUT_ID_PATTERN },
          gpio: {
            type: 'object',
            additionalProperties: false,
            required: ['pin'],
            properties: {
              pin: {
                oneOf: [
                  { type: 'integer', minimum: 0, maximum: 4095 },
                  {
                    type: 'object',
                    additionalProperties: false,
                    required: ['chip', 'line'],
                    properties: {
                      chip: { type: 'string', minLength: 1 },
                      line: { type: 'integer', minimum: 0, maximum: 1023 },
                    },
                  },
                ],
              },
              active_low: { type: 'boolean', default: false },
            },
          },
          mqtt: {
            type: 'object',
            additionalProperties: false,
            required: ['topic'],
            properties: { topic: { type: 'string', pattern: '^[^#+]+$', maxLength: 200 } },
          },
          values: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              staffed: settingSchema,
              staffless: settingSchema,
              closing: settingSchema,
              closed: settingSchema,
              emergency: settingSchema,
            },
          },
        },
      },
    },
    announcements: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false },
        minutes: {
          type: 'array',
          uniqueItems: true,
          maxItems: 12,
          items: { type: 'integer', minimum: 1, maximum: 240 },
          default: [15, 10, 5],
        },
        languages: { type: 'array', uniqueItems: true, items: { enum: LANGUAGES }, default: [] },
        dir: { type: 'string', minLength: 1 },
        play: { type: 'boolean', default: true },
        player: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', minLength: 1 },
          default: ['aplay', '-q'],
        },
        player_timeout_seconds: { type: 'integer', minimum: 1, maximum: 600, default: 60 },
        mqtt_topic: { type: 'string', pattern: '^[^#+]+$', maxLength: 200 },
      },
    },
  },
} as const;

/** A value as written in YAML: `on`/`off` strings, or booleans (YAML 1.1 habits) as `on`/`off`. */
export function normaliseValue(value: string | boolean): string {
  return typeof value === 'boolean' ? (value ? 'on' : 'off') : value;
}

type RawSetting = string | boolean | { value: string | boolean; offset_minutes?: number };

/** The config's shorthand (`closed: off`) as full settings. */
export function settingOf(raw: RawSetting): OutputSetting {
  if (typeof raw === 'object')
    return { value: normaliseValue(raw.value), offset_minutes: raw.offset_minutes ?? 0 };
  return { value: normaliseValue(raw), offset_minutes: 0 };
}

/** Rules the schema cannot say (keys relative to `states`). */
export function checkStatesConfig(cfg: StatesConfig, doorIds: string[]): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  if (cfg.door !== undefined && !doorIds.includes(cfg.door))
    problems.push({ key: 'door', message: `no door "${cfg.door}"` });
  const ids = new Set<string>();
  cfg.outputs.forEach((output, i) => {
    if (ids.has(output.id))
      problems.push({ key: `outputs.${i}.id`, message: `duplicate output "${output.id}"` });
    ids.add(output.id);
    if (!output.gpio === !output.mqtt)
      problems.push({ key: `outputs.${i}`, message: 'give exactly one of gpio or mqtt' });
    if (output.gpio) {
      for (const [state, raw] of Object.entries(output.values)) {
        const value = settingOf(raw as RawSetting).value;
        if (value !== 'on' && value !== 'off')
          problems.push({ key: `outputs.${i}.values.${state}`, message: 'a gpio output is on or off' });
      }
    }
  });
  return problems;
}

/** The config's outputs with every setting in full form. */
export function outputsOf(cfg: StatesConfig): OutputConfig[] {
  return cfg.outputs.map((output) => ({
    ...output,
    values: Object.fromEntries(
      Object.entries(output.values).map(([state, raw]) => [state, settingOf(raw as RawSetting)]),
    ) as OutputConfig['values'],
  }));
}

/** The schema's defaults, but enabled: for code that builds the section without a config file (tests, bench). */
export function statesDefaults(overrides: Partial<StatesConfig> = {}): StatesConfig {
  return {
    enabled: true,
    closing_minutes: 15,
    closing_before: ['closed'],
    sysfs_root: '/sys/class/gpio',
    outputs: [],
    ...overrides,
    announcements: {
      enabled: false,
      minutes: [15, 10, 5],
      languages: [],
      play: true,
      player: ['aplay', '-q'],
      player_timeout_seconds: 60,
      ...overrides.announcements,
    },
  };
}
