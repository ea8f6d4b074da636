/** Config of a reader on an OSDP bus (`reader.profile: osdp`, `reader.osdp`). Owned by src/reader/osdp. */
import { secretRef, type SecretRef } from '../../config/secret-ref.ts';
import type { BuzzerPattern, LedPattern } from './messages.ts';

/** What the patron sees and hears for one class of outcome. */
export interface FeedbackPattern {
  led: LedPattern;
  buzzer: BuzzerPattern;
}

export type FeedbackClass = 'granted' | 'denied' | 'unavailable';

export interface OsdpConfig {
  /** The reader's address on the bus, 0–126. Default 0. */
  address: number;
  /**
   * `key`: secure channel with the reader's own key (`scbk`), plaintext refused (default).
   * `install`: secure channel with the default key SCBK-D, only to commission a new reader.
   * `plaintext`: no secure channel, for readers that have none; cards can be sniffed on the wire.
   */
  security: 'key' | 'install' | 'plaintext';
  /** security key: the reader's 16-byte key as 32 hex digits, in a file (`dorvakt osdp keyset`) or env. */
  scbk?: SecretRef | undefined;
  /** Pause between polls of this bus. Default 50. */
  poll_interval_ms: number;
  /** How long to wait for a reply. Default 200. */
  reply_timeout_ms: number;
  /** Unanswered commands in a row before the reader counts as offline. Default 5. */
  offline_after: number;
  /** Keypad digits after a card form its PIN, ended by `#` (require_pin). Default false. */
  keypad_pin: boolean;
  /** Show the patron's reason on the reader's display: `auto` when the reader reports one. */
  text: 'auto' | 'on' | 'off';
  /** Seconds the text stays. Default 5. */
  text_seconds: number;
  feedback: Record<FeedbackClass, FeedbackPattern>;
}

const led = (color: string, on: number, off: number, duration: number) => ({
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    color: {
      type: 'string',
      enum: ['off', 'red', 'green', 'amber', 'blue', 'magenta', 'cyan', 'white'],
      default: color,
    },
    on_ms: { type: 'integer', minimum: 100, maximum: 25500, default: on },
    off_ms: { type: 'integer', minimum: 0, maximum: 25500, default: off },
    duration_ms: { type: 'integer', minimum: 100, maximum: 60000, default: duration },
  },
});
const buzzer = (on: number, off: number, count: number) => ({
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    on_ms: { type: 'integer', minimum: 100, maximum: 25500, default: on },
    off_ms: { type: 'integer', minimum: 0, maximum: 25500, default: off },
    count: { type: 'integer', minimum: 0, maximum: 10, default: count },
  },
});
const pattern = (l: ReturnType<typeof led>, b: ReturnType<typeof buzzer>) => ({
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: { led: l, buzzer: b },
});

/**
 * Defaults told apart by colour, rhythm and sound: granted is steady green with one short beep,
 * denied steady red with two long beeps, "library system unavailable" blinking amber with four quick beeps.
 * Wiegand readers (src/reader/wiegand) take the same section.
 */
export const feedbackSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    granted: pattern(led('green', 3000, 0, 3000), buzzer(200, 0, 1)),
    denied: pattern(led('red', 3000, 0, 3000), buzzer(500, 200, 2)),
    unavailable: pattern(led('amber', 300, 300, 4000), buzzer(100, 100, 4)),
  },
} as const;

export const osdpSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    address: { type: 'integer', minimum: 0, maximum: 126, default: 0 },
    security: { type: 'string', enum: ['key', 'install', 'plaintext'], default: 'key' },
    scbk: secretRef,
    poll_interval_ms: { type: 'integer', minimum: 10, maximum: 5000, default: 50 },
    reply_timeout_ms: { type: 'integer', minimum: 20, maximum: 2000, default: 200 },
    offline_after: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
    keypad_pin: { type: 'boolean', default: false },
    text: { type: 'string', enum: ['auto', 'on', 'off'], default: 'auto' },
    text_seconds: { type: 'integer', minimum: 1, maximum: 60, default: 5 },
    feedback: feedbackSchema,
  },
  // With the default security (key) the key must be named; install and plaintext need none.
  if: { properties: { security: { const: 'key' } } },
  then: { required: ['scbk'] },
} as const;
