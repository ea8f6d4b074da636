import { describe, expect, it } from 'vitest';
import {
  compileCardPattern,
  createParser,
  type FrameResult,
  MAX_LINE,
  type ParserOptions,
} from '../../src/reader/frames.ts';
import type { FrameProfile as ReaderProfile } from '../../src/reader/config.ts';

const options: ParserOptions = { card_pattern: '^[0-9A-Za-z]{4,32}$', pin_timeout_ms: 10_000 };
const bytes = (s: string) => Buffer.from(s, 'latin1');

/** Feeds the stream whole and byte by byte; both must give the same results. */
function parse(profile: ReaderProfile, stream: string, opts = options): FrameResult[] {
  const whole = createParser(profile, opts).push(bytes(stream), 0);
  const single = createParser(profile, opts);
  const byByte = [...bytes(stream)].flatMap((b) => single.push(Uint8Array.of(b), 0));
  expect(byByte).toEqual(whole);
  return whole;
}
const swipe = (card: string, pin?: string): FrameResult =>
  pin === undefined ? { kind: 'swipe', card } : { kind: 'swipe', card, pin };
const rejected = (why: string) => ({ kind: 'rejected', why });

/** EM4100 frame with the 2-digit XOR checksum, as RDM6300-style readers send it. */
function em4100(data: string, crlf = false): string {
  let xor = 0;
  for (let i = 0; i < 10; i += 2) xor ^= Number.parseInt(data.slice(i, i + 2), 16);
  return `\x02${data}${xor.toString(16).toUpperCase().padStart(2, '0')}${crlf ? '\r\n' : ''}\x03`;
}

describe('line profile', () => {
  it('accepts cards ended by CR, LF or CRLF and ignores blank lines', () => {
    expect(parse('line', '1234567\r\n\r\nABCD99\n\nZZ0001\r  \r\n')).toEqual([
      swipe('1234567'),
      swipe('ABCD99'),
      swipe('ZZ0001'),
    ]);
  });

  it('trims spaces around the card', () => {
    expect(parse('line', '  12345 \r\n')).toEqual([swipe('12345')]);
  });

  it('produces nothing until the terminator arrives', () => {
    const parser = createParser('line', options);
    expect(parser.push(bytes('12345'), 0)).toEqual([]);
    expect(parser.push(bytes('678'), 0)).toEqual([]);
    expect(parser.push(bytes('\r'), 0)).toEqual([swipe('12345678')]);
  });

  it('rejects a card that does not match card_pattern', () => {
    expect(parse('line', '12\r\n1234-5678\r\n')).toEqual([
      rejected('pattern_mismatch'),
      rejected('pattern_mismatch'),
    ]);
  });

  it('matches card_pattern against the whole card even when unanchored', () => {
    const opts = { ...options, card_pattern: '[0-9]{4}' };
    expect(parse('line', '1234\r\nx1234y\r\n', opts)).toEqual([swipe('1234'), rejected('pattern_mismatch')]);
    expect(compileCardPattern('[0-9]{4}').test('123456')).toBe(false);
  });

  it('rejects non-printable bytes once per line and keeps the next line', () => {
    expect(parse('line', '12\x0034\x0156\r\n\xe91234\r\n7777\r\n')).toEqual([
      rejected('non_printable'),
      rejected('non_printable'),
      swipe('7777'),
    ]);
  });

  it('rejects an overlong line once and resyncs at the next terminator', () => {
    const long = '1'.repeat(MAX_LINE + 40);
    expect(parse('line', `${long}\r\n5555\r\n`)).toEqual([rejected('overflow'), swipe('5555')]);
    expect(parse('line', `${'9'.repeat(MAX_LINE)}\n`, { ...options, card_pattern: '9+' })).toEqual([
      swipe('9'.repeat(MAX_LINE)),
    ]);
  });

  it('drops a half line on reset', () => {
    const parser = createParser('line', options);
    parser.push(bytes('9999'), 0);
    parser.reset();
    expect(parser.push(bytes('1234\r\n'), 0)).toEqual([swipe('1234')]);
  });

  it('drops a partial line after a silence longer than frame_gap_ms: a late newline never completes it', () => {
    const parser = createParser('line', { ...options, frame_gap_ms: 500 });
    expect(parser.push(bytes('10000001'), 0)).toEqual([]);
    expect(parser.nextDeadline()).toBe(501);
    expect(parser.push(bytes('\r\n'), 3000)).toEqual([{ kind: 'rejected', why: 'stale_partial' }]);
    // The same bytes inside the gap are one card.
    expect(parser.push(bytes('10000001'), 4000)).toEqual([]);
    expect(parser.push(bytes('\r\n'), 4400)).toEqual([swipe('10000001')]);
    expect(parser.nextDeadline()).toBeUndefined();
  });

  it('reports a stale partial line when its deadline passes, and waits on nothing after', () => {
    const parser = createParser('line', { ...options, frame_gap_ms: 200 });
    parser.push(bytes('12'), 0);
    expect(parser.expire(150)).toEqual([]);
    expect(parser.expire(201)).toEqual([{ kind: 'rejected', why: 'stale_partial' }]);
    expect(parser.nextDeadline()).toBeUndefined();
    expect(parser.push(bytes('34\r'), 5000)).toEqual([rejected('pattern_mismatch')]);
  });
});

describe('stx-etx profile', () => {
  it('drops a frame cut short by silence, so a later ETX cannot complete it', () => {
    const parser = createParser('stx-etx', { ...options, frame_gap_ms: 500 });
    expect(parser.push(bytes('\x020123AB'), 0)).toEqual([]);
    expect(parser.push(bytes('CDEF\x03'), 2000)).toEqual([
      { kind: 'rejected', why: 'stale_partial' },
      rejected('garbage'),
    ]);
  });

  it('accepts 10 hex digits with CR LF, as 125 kHz readers send them', () => {
    expect(parse('stx-etx', '\x020123ABCDEF\r\n\x03')).toEqual([swipe('0123ABCDEF')]);
  });

  it('accepts 10 hex digits without CR LF and upper-cases them', () => {
    expect(parse('stx-etx', '\x020a1b2c3d4e\x03')).toEqual([swipe('0A1B2C3D4E')]);
  });

  it('accepts the 12-digit form with a valid XOR checksum, with or without CR LF', () => {
    // RDM6300 datasheet example: 62 E3 08 6C ED, checksum 08.
    expect(em4100('62E3086CED')).toBe('\x0262E3086CED08\x03');
    expect(parse('stx-etx', em4100('62E3086CED') + em4100('0012345678', true))).toEqual([
      swipe('62E3086CED'),
      swipe('0012345678'),
    ]);
  });

  it('rejects a bad checksum', () => {
    expect(parse('stx-etx', '\x0262E3086CED09\x03')).toEqual([rejected('bad_checksum')]);
    expect(parse('stx-etx', '\x0262E3086CED08\r\n\x03')).toEqual([swipe('62E3086CED')]);
  });

  it('rejects wrong lengths and non-hex payloads', () => {
    expect(parse('stx-etx', '\x02123456789\x03\x02\x03\x0212345678901\x03')).toEqual([
      rejected('bad_length'),
      rejected('bad_length'),
      rejected('bad_length'),
    ]);
    expect(parse('stx-etx', '\x020123ABCDEG\x03\x0201234\r6789\x03')).toEqual([
      rejected('non_hex'),
      rejected('non_hex'),
    ]);
  });

  it('rejects stray bytes between frames once per run and keeps the next frame', () => {
    expect(parse('stx-etx', 'noise\r\n\x020123456789\x03xx\x03\x02AAAAAAAAAA\x03')).toEqual([
      rejected('garbage'),
      swipe('0123456789'),
      rejected('garbage'),
      swipe('AAAAAAAAAA'),
    ]);
  });

  it('restarts on STX inside a frame', () => {
    expect(parse('stx-etx', '\x0201234\x020123456789\x03')).toEqual([
      rejected('bad_frame'),
      swipe('0123456789'),
    ]);
  });

  it('rejects an overlong frame and skips to the next STX', () => {
    expect(parse('stx-etx', '\x02' + '1'.repeat(40) + '\x03\x03\x021111111111\x03')).toEqual([
      rejected('overflow'),
      swipe('1111111111'),
    ]);
  });

  it('never emits a swipe from a partial frame, even across a reset', () => {
    const parser = createParser('stx-etx', options);
    expect(parser.push(bytes('\x020123456789\r\n'), 0)).toEqual([]);
    parser.reset();
    expect(parser.push(bytes('\x03'), 0)).toEqual([rejected('garbage')]);
  });

  it('applies card_pattern to the hex card', () => {
    expect(
      parse('stx-etx', '\x020000000001\x03', { ...options, card_pattern: '[1-9A-F][0-9A-F]{9}' }),
    ).toEqual([rejected('pattern_mismatch')]);
  });
});

describe('keypad profile', () => {
  it('pairs a card with the PIN that follows', () => {
    expect(parse('keypad', '12345678\r\n4321#')).toEqual([swipe('12345678', '4321')]);
  });

  it('accepts PINs of 4 to 8 digits and rejects others', () => {
    expect(parse('keypad', 'CARD1\r\n12345678#')).toEqual([swipe('CARD1', '12345678')]);
    expect(parse('keypad', 'CARD1\r\n123#')).toEqual([rejected('bad_pin')]);
    expect(parse('keypad', 'CARD1\r\n123456789#')).toEqual([rejected('bad_pin')]);
    expect(parse('keypad', 'CARD1\r\n12a4#')).toEqual([rejected('bad_pin')]);
    expect(parse('keypad', 'CARD1\r\n#')).toEqual([rejected('bad_pin')]);
  });

  it('* clears the PIN typed so far', () => {
    expect(parse('keypad', 'CARD1\r\n99*1234#')).toEqual([swipe('CARD1', '1234')]);
  });

  it('rejects a PIN without a card, and a second PIN after the card was used', () => {
    expect(parse('keypad', '1234#CARD1\r\n1111#2222#')).toEqual([
      rejected('pin_without_card'),
      swipe('CARD1', '1111'),
      rejected('pin_without_card'),
    ]);
  });

  it('a new card while waiting replaces the old one', () => {
    expect(parse('keypad', 'CARD1\r\nCARD2\r\n5555#')).toEqual([swipe('CARD2', '5555')]);
  });

  it('rejects a card that does not match card_pattern, and non-printable input', () => {
    expect(parse('keypad', 'ab\r\n1234#')).toEqual([
      rejected('pattern_mismatch'),
      rejected('pin_without_card'),
    ]);
    expect(parse('keypad', 'CARD1\r\n12\x0034#')).toEqual([rejected('non_printable')]);
  });

  it('times out the PIN wait: no swipe, pin_timeout', () => {
    const parser = createParser('keypad', options);
    expect(parser.push(bytes('CARD1\r\n12'), 1000)).toEqual([]);
    expect(parser.nextDeadline()).toBe(11_000);
    expect(parser.expire(10_999)).toEqual([]);
    expect(parser.expire(11_000)).toEqual([rejected('pin_timeout')]);
    expect(parser.nextDeadline()).toBeUndefined();
    expect(parser.push(bytes('34#'), 11_001)).toEqual([rejected('pin_without_card')]);
  });

  it('times out on the next byte if the timer has not fired yet', () => {
    const parser = createParser('keypad', options);
    parser.push(bytes('CARD1\r\n'), 0);
    expect(parser.push(bytes('1234#'), 20_000)).toEqual([
      rejected('pin_timeout'),
      rejected('pin_without_card'),
    ]);
  });

  it('a new card restarts the PIN clock', () => {
    const parser = createParser('keypad', options);
    parser.push(bytes('CARD1\r\n'), 0);
    parser.push(bytes('CARD2\r\n'), 9000);
    expect(parser.nextDeadline()).toBe(19_000);
    expect(parser.push(bytes('1234#'), 15_000)).toEqual([swipe('CARD2', '1234')]);
  });

  it('drops keys typed without a card once they go stale', () => {
    const parser = createParser('keypad', options);
    parser.push(bytes('12'), 0);
    expect(parser.nextDeadline()).toBe(10_000);
    expect(parser.expire(10_000)).toEqual([rejected('incomplete')]);
    expect(parser.push(bytes('CARD1\r\n4321#'), 10_001)).toEqual([swipe('CARD1', '4321')]);
  });

  it('reset forgets the waiting card', () => {
    const parser = createParser('keypad', options);
    parser.push(bytes('CARD1\r\n'), 0);
    parser.reset();
    expect(parser.nextDeadline()).toBeUndefined();
    expect(parser.push(bytes('1234#'), 1)).toEqual([rejected('pin_without_card')]);
  });
});

describe('rejection reasons', () => {
  it('never carry card digits or PINs', () => {
    const all = [
      ...parse('line', '1\r\n12345678901234567890\x01\r\n' + '7'.repeat(100) + '\n'),
      ...parse('stx-etx', 'x\x021234567890FF\x03\x0212\x03\x021\x02' + '9'.repeat(30)),
      ...parse('keypad', '1234#C4RD99\r\n987#'),
    ];
    expect(all.length).toBeGreaterThan(6);
    for (const r of all) {
      expect(r.kind).toBe('rejected');
      if (r.kind === 'rejected') expect(r.why).toMatch(/^[a-z_]+$/);
    }
  });
});
