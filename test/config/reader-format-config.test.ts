/** check-config on Wiegand readers and card formats: a format that cannot apply to the profile is an error at its line. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectConfigFile } from '../../src/config/check.ts';
import { tempDir } from '../helpers/tmp.ts';

const config = (doors: string) => `version: 2
site: { id: s }
secrets:
  card_hmac_key: { file: card.key }
doors:
${doors}`;

const door = (id: string, reader: string) => `  - id: ${id}
    schedule: { staffless: "Mo-Su 07:00-22:00" }
    reader: ${reader}
`;

describe('check-config: Wiegand readers and card formats', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
    writeFileSync(join(dir.path, 'card.key'), 'x'.repeat(32), { mode: 0o600 });
  });
  afterEach(() => dir.cleanup());
  const check = (text: string) => {
    const file = join(dir.path, 'dorvakt.yaml');
    writeFileSync(file, text);
    return inspectConfigFile(file);
  };

  it('a Wiegand reader with a chip-ID format passes, defaults filled in (feedback as for OSDP)', () => {
    const found = check(
      config(
        door(
          'front',
          '{ path: /dev/gpiochip0, profile: wiegand, card_format: em-dec10, wiegand: { d0: 17, d1: 27, led_green: { pin: { chip: pinctrl-bcm2711, line: 22 } } } }',
        ),
      ),
    );
    expect(found.problems).toEqual([]);
    const reader = found.config!.doors[0]!.reader;
    expect(reader.wiegand).toMatchObject({ gpiomon: 'gpiomon', frame_gap_ms: 25, bias: 'as-is' });
    expect(reader.wiegand!.feedback.unavailable.led.color).toBe('amber');
  });

  it('profile wiegand needs its section with both lines', () => {
    expect(check(config(door('front', '{ path: /dev/gpiochip0, profile: wiegand }'))).config).toBeNull();
    const found = check(
      config(door('front', '{ path: /dev/gpiochip0, profile: wiegand, wiegand: { d0: 17 } }')),
    );
    expect(found.problems.map((p) => p.message).join('\n')).toMatch(/d1/);
  });

  it('a format that cannot apply to the profile is an error with key and line', () => {
    const text = config(
      door('front', '{ path: /dev/ttyUSB0, profile: line, card_format: em-dec10 }') +
        door(
          'back',
          '{ path: /dev/gpiochip0, profile: wiegand, card_format: no-national, wiegand: { d0: 5, d1: 6 } }',
        ),
    );
    const found = check(text);
    expect(found.problems).toEqual([
      expect.objectContaining({
        key: 'doors.0.reader.card_format',
        line: 8,
        message: expect.stringMatching(
          /em-dec10 cannot apply to a line reader; use one of: as-read, no-national/,
        ),
      }),
      expect.objectContaining({
        key: 'doors.1.reader.card_format',
        line: 11,
        message: expect.stringMatching(/no-national cannot apply to a wiegand reader/),
      }),
    ]);
  });

  it('formats that fit pass for every profile', () => {
    const text = config(
      door('a', '{ path: /dev/ttyUSB0, profile: stx-etx, card_format: facility-number }') +
        door('b', '{ path: /dev/ttyUSB1, profile: line, card_format: no-national }') +
        door(
          'c',
          '{ path: /dev/gpiochip0, profile: wiegand, card_format: em-dec8, wiegand: { d0: 5, d1: 6 } }',
        ),
    );
    expect(check(text).problems).toEqual([]);
  });

  it('two Wiegand readers share a chip on their own lines, not on the same one', () => {
    const ok = config(
      door('a', '{ path: /dev/gpiochip0, profile: wiegand, wiegand: { d0: 5, d1: 6 } }') +
        door('b', '{ path: /dev/gpiochip0, profile: wiegand, wiegand: { d0: 13, d1: 19 } }'),
    );
    expect(check(ok).problems).toEqual([]);
    const clash = config(
      door('a', '{ path: /dev/gpiochip0, profile: wiegand, wiegand: { d0: 5, d1: 6 } }') +
        door('b', '{ path: /dev/gpiochip0, profile: wiegand, wiegand: { d0: 6, d1: 19 } }'),
    );
    expect(check(clash).problems).toEqual([
      expect.objectContaining({ key: 'doors.1.reader.wiegand', message: 'doors.0 uses the same GPIO line' }),
    ]);
  });
});
