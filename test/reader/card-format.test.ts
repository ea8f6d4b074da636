/**
 * Card formats against published examples. Sources:
 * - zgznk "09A-EMID-6H10D" reader manual: EM card 01026F6C3A → 10H12D 004,335,823,930; 8H10D
 *   0040856634; 6H8D 07,302,202; "2H+4H" 111,27706.
 * - Seabreeze RFID, "10-bit number and 8-bit number conversion": print 0013961168 = 00 D5 07 D0,
 *   8-digit print "213 02000" (D5 = 213, 07D0 = 2000).
 * - Suprema, "How to indicate EM4100 card": 40-bit 322126887957 = customer ID 75, data 4340757.
 */
import { describe, expect, it } from 'vitest';
import {
  CARD_FORMATS,
  emDec10ToHex8,
  emHexToDec10,
  formatAppliesTo,
  formatText,
  formatWiegand,
} from '../../src/reader/card-format.ts';
import { createParser } from '../../src/reader/frames.ts';

describe('EM4100 hex ↔ decimal', () => {
  it('10 hex digits to the 10-digit print of the low 32 bits, and back to 8 hex', () => {
    expect(emHexToDec10('01026F6C3A')).toBe('0040856634');
    expect(emDec10ToHex8('0040856634')).toBe('026F6C3A');
    expect(emHexToDec10('0000D507D0')).toBe('0013961168');
    expect(emDec10ToHex8('0013961168')).toBe('00D507D0');
    // Suprema's example: version/customer byte 75 (0x4B) is not part of the print.
    expect(emHexToDec10('4B00423C15')).toBe('0004340757');
    expect(0x4b00423c15).toBe(322126887957);
  });

  it('the stx-etx reader gives the number in each configured form', () => {
    expect(formatText('01026F6C3A', 'as-read')).toBe('01026F6C3A');
    expect(formatText('01026F6C3A', 'em-dec10')).toBe('0040856634');
    expect(formatText('01026F6C3A', 'em-dec8')).toBe('07302202');
    expect(formatText('01026F6C3A', 'facility-number')).toBe('11127706');
    expect(formatText('0000D507D0', 'facility-number')).toBe('21302000');
    expect(formatText('not hex at', 'em-dec10')).toBeUndefined();
  });
});

describe('Wiegand data', () => {
  it('26-bit (24 data bits): facility/number and 8-digit forms; no 10-digit form', () => {
    const w26 = { bits: 26, data: 0x6f6c3a } as const;
    expect(formatWiegand(w26, 'as-read')).toBe('6F6C3A');
    expect(formatWiegand(w26, 'facility-number')).toBe('11127706');
    expect(formatWiegand(w26, 'em-dec8')).toBe('07302202');
    expect(formatWiegand(w26, 'em-dec10')).toBeUndefined();
  });

  it('34-bit (32 data bits): the 10-digit print, and the 8-digit print derived from it', () => {
    const w34 = { bits: 34, data: 0x00d507d0 } as const;
    expect(formatWiegand(w34, 'em-dec10')).toBe('0013961168');
    expect(formatWiegand(w34, 'facility-number')).toBe('21302000');
    expect(formatWiegand(w34, 'as-read')).toBe('00D507D0');
    expect(formatWiegand({ bits: 34, data: 0xffffffff }, 'em-dec10')).toBe('4294967295');
  });
});

describe('Norwegian national library card', () => {
  it('takes "N" and 9 digits as printed, in any case, with spaces or hyphens', () => {
    expect(formatText('N123456789', 'no-national')).toBe('N123456789');
    expect(formatText('n 123 456 789', 'no-national')).toBe('N123456789');
    expect(formatText('N-123-456-789', 'no-national')).toBe('N123456789');
    for (const wrong of ['123456789', 'N12345678', 'N1234567890', 'X123456789', 'NN23456789'])
      expect(formatText(wrong, 'no-national')).toBeUndefined();
  });

  it('a barcode reader in no-national form passes the printed number and rejects others', () => {
    const parser = createParser('line', {
      card_pattern: '^[0-9A-Za-z]{4,32}$',
      pin_timeout_ms: 10000,
      card_format: 'no-national',
    });
    expect(parser.push(Buffer.from('n123456789\r12345678\r'), 0)).toEqual([
      { kind: 'swipe', card: 'N123456789' },
      { kind: 'rejected', why: 'pattern_mismatch' },
    ]);
  });
});

describe('which formats fit which reader', () => {
  it('chip-ID forms only for readers that deliver a chip ID; printed forms only for text', () => {
    expect(formatAppliesTo('em-dec10', 'stx-etx')).toBe(true);
    expect(formatAppliesTo('em-dec10', 'wiegand')).toBe(true);
    expect(formatAppliesTo('em-dec10', 'line')).toBe(false);
    expect(formatAppliesTo('no-national', 'wiegand')).toBe(false);
    expect(formatAppliesTo('no-national', 'line')).toBe(true);
    for (const profile of ['line', 'keypad', 'osdp', 'stx-etx', 'wiegand'] as const)
      expect(CARD_FORMATS.filter((f) => formatAppliesTo(f, profile))).toContain('as-read');
  });

  it('the stx-etx parser checks card_pattern against the converted number', () => {
    const parser = createParser('stx-etx', {
      card_pattern: '^[0-9]{10}$',
      pin_timeout_ms: 10000,
      card_format: 'em-dec10',
    });
    expect(parser.push(Buffer.from('\x0201026F6C3A\x03', 'latin1'), 0)).toEqual([
      { kind: 'swipe', card: '0040856634' },
    ]);
  });
});
