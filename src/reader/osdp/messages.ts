/** Data of the OSDP commands the control panel sends and the replies it reads. Pure. */

export type LedColor = 'off' | 'red' | 'green' | 'amber' | 'blue' | 'magenta' | 'cyan' | 'white';
const COLORS: Record<LedColor, number> = {
  off: 0,
  red: 1,
  green: 2,
  amber: 3,
  blue: 4,
  magenta: 5,
  cyan: 6,
  white: 7,
};

/** Times in the protocol are in units of 100 ms. */
const ticks = (ms: number) => Math.max(0, Math.min(255, Math.round(ms / 100)));

export interface LedPattern {
  color: LedColor;
  /** Blinking: ms on, ms off; steady when off_ms is 0. */
  on_ms: number;
  off_ms: number;
  /** How long the pattern shows before the LED goes back to its permanent state. */
  duration_ms: number;
}

/** LED record: a temporary pattern on LED 0 of reader 0, back to `idle` (permanent) after it. */
export function ledCommand(pattern: LedPattern, idle: LedColor = 'off'): Uint8Array {
  const timer = Math.max(1, Math.min(0xffff, Math.round(pattern.duration_ms / 100)));
  const steady = pattern.off_ms === 0;
  return Uint8Array.of(
    0, // reader
    0, // LED
    2, // temporary: set and start the timer
    steady ? ticks(pattern.duration_ms) || 1 : ticks(pattern.on_ms) || 1,
    steady ? 0 : ticks(pattern.off_ms) || 1,
    COLORS[pattern.color],
    COLORS.off,
    timer & 0xff,
    timer >> 8,
    1, // permanent: set
    1,
    0,
    COLORS[idle],
    COLORS.off,
  );
}

export interface BuzzerPattern {
  on_ms: number;
  off_ms: number;
  /** Beeps; 0 is silent. */
  count: number;
}

export function buzzerCommand(pattern: BuzzerPattern): Uint8Array {
  if (pattern.count === 0) return Uint8Array.of(0, 1, 0, 0, 0);
  return Uint8Array.of(0, 2, ticks(pattern.on_ms) || 1, ticks(pattern.off_ms), Math.min(255, pattern.count));
}

/** Temporary text, wrapped, from row 1 column 1, for `seconds`; printable ASCII only. */
export function textCommand(text: string, seconds: number): Uint8Array {
  const ascii = toDisplayAscii(text).slice(0, 64);
  const bytes = Buffer.from(ascii, 'latin1');
  return Uint8Array.of(0, 4, Math.max(1, Math.min(255, seconds)), 1, 1, bytes.length, ...bytes);
}

const TRANSLITERATE: Record<string, string> = { æ: 'ae', ø: 'o', å: 'aa', Æ: 'AE', Ø: 'O', Å: 'AA' };

/** Displays on readers show ASCII: Nordic letters are spelled out, anything else becomes '?'. */
export function toDisplayAscii(text: string): string {
  return [...text].map((c) => TRANSLITERATE[c] ?? (c >= ' ' && c <= '~' ? c : '?')).join('');
}

/** OUT record: output `output` on (permanently) or off. */
export const outputCommand = (output: number, on: boolean): Uint8Array =>
  Uint8Array.of(output, on ? 2 : 1, 0, 0);

/** COMSET: new address and baud rate (LSB first). */
export const comsetCommand = (address: number, baud: number): Uint8Array =>
  Uint8Array.of(address, baud & 0xff, (baud >> 8) & 0xff, (baud >> 16) & 0xff, baud >>> 24);

/** KEYSET: key type 1 (SCBK), length 16, key. Only ever sent inside a secure channel. */
export const keysetCommand = (key: Uint8Array): Uint8Array => Uint8Array.of(1, key.length, ...key);

export interface PdIdentity {
  vendor: string;
  model: number;
  version: number;
  serial: number;
  firmware: string;
}

export function parsePdId(data: Uint8Array): PdIdentity | undefined {
  if (data.length < 12) return undefined;
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  return {
    vendor: `${hex(data[0]!)}${hex(data[1]!)}${hex(data[2]!)}`,
    model: data[3]!,
    version: data[4]!,
    serial: (data[5]! | (data[6]! << 8) | (data[7]! << 16) | (data[8]! << 24)) >>> 0,
    firmware: `${data[9]}.${data[10]}.${data[11]}`,
  };
}

export interface PdCapability {
  code: number;
  compliance: number;
  count: number;
}

export const CAP_TEXT_OUTPUT = 10;

export function parsePdCap(data: Uint8Array): PdCapability[] {
  const caps: PdCapability[] = [];
  for (let i = 0; i + 3 <= data.length; i += 3)
    caps.push({ code: data[i]!, compliance: data[i + 1]!, count: data[i + 2]! });
  return caps;
}

export interface LocalStatus {
  tamper: boolean;
  power: boolean;
}

export const parseLocalStatus = (data: Uint8Array): LocalStatus | undefined =>
  data.length < 2 ? undefined : { tamper: data[0] !== 0, power: data[1] !== 0 };

/** RSTATR: one byte per reader, 0 normal, 1 not connected, 2 tampered. */
export const readerTampered = (data: Uint8Array): boolean => data.some((b) => b === 2);

/** RAW card data as upper-case hex of the card's bits (left aligned, as the reader sends them). */
export function parseRawCard(data: Uint8Array): string | undefined {
  if (data.length < 4) return undefined;
  const bits = data[2]! | (data[3]! << 8);
  const bytes = Math.ceil(bits / 8);
  if (bits === 0 || data.length - 4 !== bytes) return undefined;
  return Buffer.from(data.subarray(4)).toString('hex').toUpperCase();
}

/** FMT card data: the number as ASCII characters. */
export function parseFormattedCard(data: Uint8Array): string | undefined {
  if (data.length < 3) return undefined;
  const length = data[2]!;
  if (data.length - 3 !== length || length === 0) return undefined;
  return Buffer.from(data.subarray(3)).toString('latin1');
}

/** KEYPAD digits as typed: '0'–'9', with the reader's '*' (0x7F) and '#' (0x0D) mapped back to the keys. */
export function parseKeypad(data: Uint8Array): string | undefined {
  if (data.length < 2 || data.length - 2 !== data[1]) return undefined;
  return [...data.subarray(2)]
    .map((b) => (b === 0x7f ? '*' : b === 0x0d ? '#' : String.fromCharCode(b)))
    .join('');
}
