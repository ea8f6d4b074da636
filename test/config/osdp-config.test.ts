/** check-config on OSDP readers: the key must be named and well-formed, a shared bus must be consistent. */
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

describe('check-config: OSDP readers', () => {
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

  it('a good reader with its own key passes, defaults filled in', () => {
    writeFileSync(join(dir.path, 'front.key'), '00112233445566778899aabbccddeeff\n', { mode: 0o600 });
    const found = check(
      config(door('front', '{ path: /dev/ttyUSB0, profile: osdp, osdp: { scbk: { file: front.key } } }')),
    );
    expect(found.problems).toEqual([]);
    const osdp = found.config!.doors[0]!.reader.osdp!;
    expect(osdp.security).toBe('key');
    expect(osdp.feedback.granted.led.color).toBe('green');
  });

  it('profile osdp needs its section, and security key (the default) needs the key', () => {
    expect(check(config(door('front', '{ path: /dev/ttyUSB0, profile: osdp }'))).config).toBeNull();
    const found = check(config(door('front', '{ path: /dev/ttyUSB0, profile: osdp, osdp: { address: 1 } }')));
    expect(found.config).toBeNull();
    expect(found.problems.map((p) => p.message).join('\n')).toMatch(/scbk/);
  });

  it('a key file that is not 32 hex digits is an error', () => {
    writeFileSync(join(dir.path, 'front.key'), 'not a key\n', { mode: 0o600 });
    const found = check(
      config(door('front', '{ path: /dev/ttyUSB0, profile: osdp, osdp: { scbk: { file: front.key } } }')),
    );
    expect(found.problems).toEqual([
      expect.objectContaining({
        key: 'doors.0.reader.osdp.scbk.file',
        message: expect.stringMatching(/32 hex digits/),
      }),
    ]);
  });

  it('install and plaintext pass with a warning', () => {
    const found = check(
      config(
        door('front', '{ path: /dev/ttyUSB0, profile: osdp, osdp: { security: install } }') +
          door('back', '{ path: /dev/ttyUSB1, profile: osdp, osdp: { security: plaintext } }'),
      ),
    );
    expect(found.config).not.toBeNull();
    expect(found.problems.map((p) => [p.key, p.warning])).toEqual([
      ['doors.0.reader.osdp.security', true],
      ['doors.1.reader.osdp.security', true],
    ]);
  });

  it('readers on one bus need one baud rate and their own addresses; only OSDP shares a path (a warning)', () => {
    const on = (address: number, baud = 9600) =>
      `{ path: /dev/ttyUSB0, baud_rate: ${baud}, profile: osdp, osdp: { security: install, address: ${address} } }`;
    const same = check(config(door('a', on(1)) + door('b', on(1))));
    expect(same.problems.filter((p) => !p.warning).map((p) => p.key)).toEqual([
      'doors.1.reader.osdp.address',
    ]);
    const baud = check(config(door('a', on(1)) + door('b', on(2, 115200))));
    expect(baud.problems.filter((p) => !p.warning).map((p) => p.key)).toEqual(['doors.1.reader.baud_rate']);
    const ok = check(config(door('a', on(1)) + door('b', on(2))));
    expect(ok.problems.filter((p) => !p.warning)).toEqual([]);
    const serial = check(config(door('a', on(1)) + door('b', '{ path: /dev/ttyUSB0 }')));
    expect(serial.config).not.toBeNull();
    expect(serial.problems.filter((p) => p.key === 'doors.1.reader.path').map((p) => p.warning)).toEqual([
      true,
    ]);
  });
});
