/** Config section: one door's card reader. Owned by src/reader. */
export type ReaderProfile = 'line' | 'stx-etx' | 'keypad';

export interface ReaderConfig {
  /** Serial device path; `/dev/dorvakt-reader` with the udev rule from hardware/. */
  path: string;
  baud_rate: number;
  profile: ReaderProfile;
  /** keypad: how long to wait for the PIN (ending in `#`) after the card. */
  pin_timeout_ms: number;
  /** Accepted card number pattern (after trimming); anything else is a malformed frame. */
  card_pattern: string;
  reconnect_min_ms: number;
  reconnect_max_ms: number;
}

export const readerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1 },
    baud_rate: { type: 'integer', enum: [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200], default: 9600 },
    profile: { type: 'string', enum: ['line', 'stx-etx', 'keypad'], default: 'line' },
    pin_timeout_ms: { type: 'integer', minimum: 1000, maximum: 60000, default: 10000 },
    card_pattern: { type: 'string', default: '^[0-9A-Za-z]{4,32}$' },
    reconnect_min_ms: { type: 'integer', minimum: 50, default: 500 },
    reconnect_max_ms: { type: 'integer', minimum: 100, default: 30000 },
  },
} as const;
