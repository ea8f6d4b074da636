/**
 * The card's number as the library system knows it, from what the reader delivers. Readers of 125 kHz
 * cards give the chip's ID (EM4100: 8-bit version/customer byte + 32 data bits; Wiegand: the bits with
 * parity stripped), while the number printed on the card (and typed into the library system) is often
 * a decimal form of part of it. There is no standard, so the form is chosen per reader
 * (`reader.card_format`, docs in hardware/readers.md). Pure functions; nothing here logs.
 */
import type { ReaderProfile } from './profile.ts';

export type CardFormat =
  /** What the reader delivers, unchanged (Wiegand: the data bits as upper-case hex). */
  | 'as-read'
  /** The low 32 bits as 10 decimal digits ("8H10D"), e.g. 026F6C3A → 0040856634. */
  | 'em-dec10'
  /** The low 24 bits as 8 decimal digits ("6H8D"), e.g. 6F6C3A → 07302202. */
  | 'em-dec8'
  /** Facility (bits 16–23, 3 digits) then number (low 16 bits, 5 digits), as printed "111,27706" without the comma. */
  | 'facility-number'
  /** Norwegian national library card as printed: "N" and 9 digits (spaces and hyphens dropped). */
  | 'no-national';

export const CARD_FORMATS: readonly CardFormat[] = [
  'as-read',
  'em-dec10',
  'em-dec8',
  'facility-number',
  'no-national',
];

/** Which formats can apply to what a profile delivers: a chip ID (stx-etx, wiegand) or printed text. */
const APPLIES: Record<ReaderProfile, readonly CardFormat[]> = {
  line: ['as-read', 'no-national'],
  keypad: ['as-read', 'no-national'],
  osdp: ['as-read', 'no-national'],
  'stx-etx': ['as-read', 'em-dec10', 'em-dec8', 'facility-number'],
  wiegand: ['as-read', 'em-dec10', 'em-dec8', 'facility-number'],
};

export function formatAppliesTo(format: CardFormat, profile: ReaderProfile): boolean {
  return APPLIES[profile].includes(format);
}

export function formatsFor(profile: ReaderProfile): readonly CardFormat[] {
  return APPLIES[profile];
}

/** A Wiegand frame that passed its parity checks: the data bits between the two parity bits. */
export interface WiegandData {
  /** Frame length including parity: 26 or 34. */
  bits: 26 | 34;
  /** The 24 or 32 data bits. */
  data: number;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** The 10-hex-digit EM4100 ID (version byte + 32 data bits) as its low 32 bits in decimal, 10 digits. */
export function emHexToDec10(hex10: string): string {
  return pad(Number.parseInt(hex10.slice(-8), 16), 10);
}

/** The other way: a 10-digit decimal print back to the 8 hex digits of the data bits (the version byte is lost). */
export function emDec10ToHex8(dec10: string): string {
  return Number(dec10).toString(16).toUpperCase().padStart(8, '0');
}

function fromBits(low32: number, format: CardFormat): string | undefined {
  switch (format) {
    case 'em-dec10':
      return pad(low32 >>> 0, 10);
    case 'em-dec8':
      return pad(low32 & 0xffffff, 8);
    case 'facility-number':
      return `${pad((low32 >>> 16) & 0xff, 3)}${pad(low32 & 0xffff, 5)}`;
    default:
      return undefined;
  }
}

/**
 * The card number for a text the reader sent (line, keypad, osdp, stx-etx). Undefined when the text
 * cannot be in that form (the reader then rejects the frame as `pattern_mismatch`).
 */
export function formatText(text: string, format: CardFormat): string | undefined {
  switch (format) {
    case 'as-read':
      return text;
    case 'no-national': {
      const printed = text.replace(/[\s-]/g, '').toUpperCase();
      return /^N[0-9]{9}$/.test(printed) ? printed : undefined;
    }
    default:
      // The chip-ID forms take the 10 hex digits of an EM4100 read.
      if (!/^[0-9A-Fa-f]{10}$/.test(text)) return undefined;
      return fromBits(Number.parseInt(text.slice(-8), 16), format);
  }
}

/**
 * The card number for a Wiegand frame. Undefined when the frame is too short for the form
 * (a 26-bit frame carries only 24 data bits, not the 32 of em-dec10).
 */
export function formatWiegand(frame: WiegandData, format: CardFormat): string | undefined {
  switch (format) {
    case 'as-read':
      return frame.data
        .toString(16)
        .toUpperCase()
        .padStart(frame.bits === 26 ? 6 : 8, '0');
    case 'em-dec10':
      return frame.bits === 34 ? fromBits(frame.data, format) : undefined;
    case 'no-national':
      return undefined;
    default:
      return fromBits(frame.data, format);
  }
}
