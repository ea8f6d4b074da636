/** Config of a Wiegand reader on two GPIO lines (`reader.profile: wiegand`, `reader.wiegand`). Owned by src/reader/wiegand. */
import { type GpioPin, gpioPinSchema } from '../../door/config.ts';
import { type FeedbackClass, type FeedbackPattern, feedbackSchema } from '../osdp/config.ts';

export interface WiegandConfig {
  /** Line offsets on the GPIO chip (`reader.path`, e.g. /dev/gpiochip0) of DATA0 and DATA1. */
  d0: number;
  d1: number;
  /** The libgpiod v2 `gpiomon` to run. Default `gpiomon`. */
  gpiomon: string;
  /** Bias gpiomon asks the kernel for; `as-is` when the board has its own pull-ups (hardware/wiegand.md). */
  bias: 'as-is' | 'pull-up' | 'disabled';
  /** Silence that ends a frame. Default 25 (bits come every 1–2 ms; the standard allows up to 20). */
  frame_gap_ms: number;
  /** Two falling edges closer than this are noise, not bits. Default 100 (a bit is a 50 µs pulse). */
  min_bit_interval_us: number;
  /** The reader's LED and beeper inputs driven as outputs (sysfs, like the door's lights). */
  led_green?: GpioPin | undefined;
  led_red?: GpioPin | undefined;
  beeper?: GpioPin | undefined;
  /** Root of the sysfs GPIO tree for those outputs; tests point it at a fake tree. */
  sysfs_root: string;
  /** Same shape and defaults as the OSDP reader's feedback. */
  feedback: Record<FeedbackClass, FeedbackPattern>;
}

export const wiegandSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['d0', 'd1'],
  properties: {
    d0: { type: 'integer', minimum: 0, maximum: 1023 },
    d1: { type: 'integer', minimum: 0, maximum: 1023 },
    gpiomon: { type: 'string', minLength: 1, default: 'gpiomon' },
    bias: { type: 'string', enum: ['as-is', 'pull-up', 'disabled'], default: 'as-is' },
    frame_gap_ms: { type: 'integer', minimum: 5, maximum: 1000, default: 25 },
    min_bit_interval_us: { type: 'integer', minimum: 10, maximum: 5000, default: 100 },
    led_green: gpioPinSchema,
    led_red: gpioPinSchema,
    beeper: gpioPinSchema,
    sysfs_root: { type: 'string', default: '/sys/class/gpio' },
    feedback: feedbackSchema,
  },
} as const;
