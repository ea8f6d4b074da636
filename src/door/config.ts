/** Config section: one door's hardware. Owned by src/door. */

/**
 * A GPIO line: a raw sysfs number, or a chip label + line offset (resolved at start by reading
 * /sys/class/gpio/gpiochip*\/label and adding that chip's base; newer kernels moved the bases).
 */
export type GpioLine = number | { chip: string; line: number };

/**
 * Logical 1 means: relay energised (= unlocked), contact open, fire alarm active, light on.
 * `active_low` flips that at the pin (a relay board that energises on a low input, for instance).
 */
export interface GpioPin {
  pin: GpioLine;
  active_low: boolean;
}

export interface DoorHardwareConfig {
  driver: 'sim' | 'gpio';
  /** Root of the sysfs GPIO tree; tests point it at a fake tree. */
  sysfs_root: string;
  relay?: GpioPin | undefined;
  contact?: (GpioPin & { debounce_ms: number }) | undefined;
  fire?: (GpioPin & { debounce_ms: number }) | undefined;
  /** Optional outputs: a green/red light or an announcement trigger. */
  light_granted?: GpioPin | undefined;
  light_denied?: GpioPin | undefined;
  pulse_ms: number;
  held_open_seconds: number;
  /** After the lock re-engages, an opening within this window is late, not forced. */
  forced_grace_ms: number;
  /** How long the denied light stays on. */
  denied_light_ms: number;
  /** The simulated door (driver sim): a patron opens after a grant and lets it close again. */
  sim: {
    open_after_ms: number;
    close_after_ms: number;
    patron_on_grant: boolean;
    relay_log?: string | undefined;
  };
}

const gpioLine = {
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
} as const;

export const gpioPin = {
  type: 'object',
  additionalProperties: false,
  required: ['pin'],
  properties: { pin: gpioLine, active_low: { type: 'boolean', default: false } },
} as const;

const gpioInput = {
  type: 'object',
  additionalProperties: false,
  required: ['pin'],
  properties: {
    pin: gpioLine,
    active_low: { type: 'boolean', default: false },
    debounce_ms: { type: 'integer', minimum: 0, maximum: 1000, default: 30 },
  },
} as const;

export const doorHardwareSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    driver: { type: 'string', enum: ['sim', 'gpio'], default: 'sim' },
    sysfs_root: { type: 'string', default: '/sys/class/gpio' },
    relay: gpioPin,
    contact: gpioInput,
    fire: gpioInput,
    light_granted: gpioPin,
    light_denied: gpioPin,
    pulse_ms: { type: 'integer', minimum: 100, maximum: 30000, default: 3000 },
    held_open_seconds: { type: 'integer', minimum: 5, maximum: 3600, default: 30 },
    forced_grace_ms: { type: 'integer', minimum: 0, maximum: 30000, default: 1500 },
    denied_light_ms: { type: 'integer', minimum: 100, maximum: 30000, default: 2000 },
    sim: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        open_after_ms: { type: 'integer', minimum: 0, maximum: 60000, default: 300 },
        close_after_ms: { type: 'integer', minimum: 0, maximum: 600000, default: 2000 },
        patron_on_grant: { type: 'boolean', default: true },
        // fault tests: a file that gets one fsynced line per relay write (relay-log.ts)
        relay_log: { type: 'string', minLength: 1 },
      },
    },
  },
  if: { required: ['driver'], properties: { driver: { const: 'gpio' } } },
  then: { required: ['relay'] },
} as const;

/** Defaults the schema fills in, for code that builds a door without loading a config file (tests, bench). */
export function doorHardwareDefaults(overrides: Partial<DoorHardwareConfig> = {}): DoorHardwareConfig {
  return {
    driver: 'sim',
    sysfs_root: '/sys/class/gpio',
    pulse_ms: 3000,
    held_open_seconds: 30,
    forced_grace_ms: 1500,
    denied_light_ms: 2000,
    sim: { open_after_ms: 300, close_after_ms: 2000, patron_on_grant: true },
    ...overrides,
  };
}
