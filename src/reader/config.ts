/** Config section: one door's card reader. Owned by src/reader. Defaults live in the schema below. */
import { CARD_FORMATS, type CardFormat } from './card-format.ts';
import type { ReaderProfile } from './profile.ts';
import { type OsdpConfig, osdpSchema } from './osdp/config.ts';
import { type WiegandConfig, wiegandSchema } from './wiegand/config.ts';

/**
 * Framing (hardware/readers.md): `line` = barcode scanner, card ended by CR/LF/CRLF;
 * `stx-etx` = 125 kHz EM4100 reader, STX + 10 hex (+ 2 hex XOR checksum) (+ CR LF) + ETX;
 * `keypad` = card line, then PIN digits ended by `#` (`*` clears);
 * `osdp` = a reader on an OSDP (RS-485) bus, settings in `osdp` (docs/osdp.md);
 * `wiegand` = DATA0/DATA1 on two GPIO lines of the chip at `path`, settings in `wiegand` (hardware/wiegand.md).
 */
export type { ReaderProfile } from './profile.ts';
/** The profiles read by a byte-stream frame parser (src/reader/frames.ts). */
export type FrameProfile = Exclude<ReaderProfile, 'osdp' | 'wiegand'>;

export interface ReaderConfig {
  /** Serial device path; `/dev/dorvakt-reader` with the udev rule from hardware/. wiegand: the GPIO chip (`/dev/gpiochip0`). */
  path: string;
  /** Default 9600 (RDM6300 and most scanners in serial mode). */
  baud_rate: number;
  /** Default `line`. */
  profile: ReaderProfile;
  /** keypad: how long to wait for the PIN (ending in `#`) after the card. Default 10000. */
  pin_timeout_ms: number;
  /**
   * Accepted card number (after trimming spaces); anything else is rejected `pattern_mismatch`.
   * Always matched against the whole card, anchored or not. Default `^[0-9A-Za-z]{4,32}$`.
   * stx-etx cards are 10 upper-case hex digits.
   */
  card_pattern: string;
  /**
   * line/stx-etx: a partial frame is dropped after this much silence (`stale_partial`); readers send a
   * whole frame within milliseconds. Default 500. The keypad profile uses pin_timeout_ms instead.
   */
  frame_gap_ms: number;
  /** Reconnect backoff after unplug: doubles from min up to max (max below min counts as min). Defaults 500 / 30000. */
  reconnect_min_ms: number;
  reconnect_max_ms: number;
  /** profile osdp: address, security, polling and feedback (src/reader/osdp/config.ts). */
  osdp?: OsdpConfig | undefined;
  /** profile wiegand: lines, frame timing, LED/beeper outputs and feedback (src/reader/wiegand/config.ts). */
  wiegand?: WiegandConfig | undefined;
  /**
   * The card's number as the library system knows it (src/reader/card-format.ts, hardware/readers.md).
   * Default `as-read`. card_pattern is matched against the number in this form.
   */
  card_format?: CardFormat | undefined;
}

export const readerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1 },
    baud_rate: {
      type: 'integer',
      enum: [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200],
      default: 9600,
    },
    profile: { type: 'string', enum: ['line', 'stx-etx', 'keypad', 'osdp', 'wiegand'], default: 'line' },
    pin_timeout_ms: { type: 'integer', minimum: 1000, maximum: 60000, default: 10000 },
    card_pattern: { type: 'string', minLength: 1, default: '^[0-9A-Za-z]{4,32}$' },
    frame_gap_ms: { type: 'integer', minimum: 20, maximum: 10000, default: 500 },
    reconnect_min_ms: { type: 'integer', minimum: 50, default: 500 },
    reconnect_max_ms: { type: 'integer', minimum: 100, default: 30000 },
    osdp: osdpSchema,
    wiegand: wiegandSchema,
    card_format: { type: 'string', enum: CARD_FORMATS, default: 'as-read' },
  },
  // OSDP and Wiegand readers need their section; other profiles ignore it.
  allOf: [
    {
      if: { required: ['profile'], properties: { profile: { const: 'osdp' } } },
      then: { required: ['osdp'] },
    },
    {
      if: { required: ['profile'], properties: { profile: { const: 'wiegand' } } },
      then: { required: ['wiegand'] },
    },
  ],
} as const;
