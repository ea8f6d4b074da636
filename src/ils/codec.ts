/**
 * SIP2 wire codec: text ⇄ bytes in the site's encoding, AY/AZ error detection, framing.
 * Checksums are always computed over the encoded bytes, never over JS characters.
 */
import iconv from 'iconv-lite';
import type { SipEncoding } from './config.ts';

/** Fixed-length part after the two-digit code, per message (3M SIP2 2.00). */
export const FIXED_LENGTH: Record<string, number> = {
  '09': 36, // checkin (unused, listed so the simulator can decode it)
  '23': 21,
  '24': 35,
  '35': 18,
  '36': 19,
  '63': 31,
  '64': 59,
  '93': 2,
  '94': 1,
  '96': 0,
  '97': 0,
  '98': 34,
  '99': 8,
};

export interface SipMessage {
  code: string;
  /** Fixed-length fields, concatenated as on the wire. */
  fixed: string;
  /** Variable fields in wire order; a tag may repeat (AF, AS…). */
  fields: Array<[tag: string, value: string]>;
}

export interface DecodedFrame {
  message: SipMessage;
  /** AY when present. */
  seq: number | null;
  /** Whether an AZ checksum was present and matched the received bytes. */
  checksumOk: boolean | null;
}

export class SipDecodeError extends Error {
  override name = 'SipDecodeError';
}

export function encodeText(text: string, encoding: SipEncoding): Buffer {
  return iconv.encode(text, encoding);
}

export function decodeText(bytes: Uint8Array, encoding: SipEncoding): string {
  return iconv.decode(Buffer.from(bytes), encoding);
}

/** Two's complement of the 16-bit byte sum, as four uppercase hex digits. */
export function checksum(bytes: Uint8Array): string {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xffff;
  return (-sum & 0xffff).toString(16).toUpperCase().padStart(4, '0');
}

/** Checksum of a string whose characters are all single bytes (ASCII vectors, tests). */
export function checksumOfText(text: string, encoding: SipEncoding = 'cp850'): string {
  return checksum(encodeText(text, encoding));
}

// '|' splits fields and CR/LF end frames: a value can never carry them.
const cleanValue = (value: string) => value.replace(/[|\r\n]/g, '');

/** The message body without trailer or terminator. */
export function messageBody(message: SipMessage): string {
  return (
    message.code +
    message.fixed +
    message.fields.map(([tag, value]) => `${tag}${cleanValue(value)}|`).join('')
  );
}

/**
 * One frame ready for the socket. With error detection the trailer is `AY<seq>AZ<checksum>`
 * (resend requests 96/97 carry no AY); the checksum covers the bytes up to and including `AZ`.
 */
export function encodeFrame(
  message: SipMessage,
  opts: { encoding: SipEncoding; errorDetection: boolean; seq?: number | undefined; terminator?: string },
): Buffer {
  const terminator = Buffer.from(opts.terminator ?? '\r', 'latin1');
  let body = encodeText(messageBody(message), opts.encoding);
  if (!opts.errorDetection) return Buffer.concat([body, terminator]);
  const isResend = message.code === '96' || message.code === '97';
  const trailerHead = isResend ? 'AZ' : `AY${(((opts.seq ?? 0) % 10) + 10) % 10}AZ`;
  body = Buffer.concat([body, Buffer.from(trailerHead, 'latin1')]);
  return Buffer.concat([body, Buffer.from(checksum(body), 'latin1'), terminator]);
}

const A = 0x41;
const Y = 0x59;
const Z = 0x5a;
const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;
const isHex = (b: number | undefined) =>
  b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));

/**
 * Decodes one frame (terminator already removed). Throws SipDecodeError when the bytes are not a
 * well-formed message; a wrong checksum is reported, not thrown, so the caller can ask for a resend.
 */
export function decodeFrame(bytes: Uint8Array, encoding: SipEncoding): DecodedFrame {
  let end = bytes.length;
  let seq: number | null = null;
  let checksumOk: boolean | null = null;
  // Trailer: ...AZxxxx, optionally preceded by AYn (and a stray '|' before AY from some servers).
  if (
    end >= 6 &&
    bytes[end - 6] === A &&
    bytes[end - 5] === Z &&
    [1, 2, 3, 4].every((i) => isHex(bytes[end - i]))
  ) {
    const given = Buffer.from(bytes.subarray(end - 4, end))
      .toString('latin1')
      .toUpperCase();
    checksumOk = checksum(bytes.subarray(0, end - 4)) === given;
    end -= 6;
    if (end >= 3 && bytes[end - 3] === A && bytes[end - 2] === Y && isDigit(bytes[end - 1])) {
      seq = bytes[end - 1]! - 0x30;
      end -= 3;
    }
  }
  const text = decodeText(bytes.subarray(0, end), encoding);
  const message = parseBody(text);
  return { message, seq, checksumOk };
}

/** Parses `code + fixed + TAGvalue|…` (no trailer). */
export function parseBody(text: string): SipMessage {
  if (!/^\d\d/.test(text)) throw new SipDecodeError('no message code');
  const code = text.slice(0, 2);
  const fixedLength = FIXED_LENGTH[code];
  if (fixedLength === undefined) throw new SipDecodeError(`unknown message code ${code}`);
  if (text.length < 2 + fixedLength) throw new SipDecodeError(`message ${code} too short`);
  const fixed = text.slice(2, 2 + fixedLength);
  const fields: Array<[string, string]> = [];
  for (const part of text.slice(2 + fixedLength).split('|')) {
    if (part === '') continue;
    if (part.length < 2 || !/^[A-Z0-9]{2}$/.test(part.slice(0, 2)))
      throw new SipDecodeError(`bad field in ${code}`);
    fields.push([part.slice(0, 2), part.slice(2)]);
  }
  return { code, fixed, fields };
}

export function field(message: SipMessage, tag: string): string | undefined {
  return message.fields.find(([t]) => t === tag)?.[1];
}

/**
 * Splits a byte stream into frames. `\r` ends a message; `\r\n` (Koha's default) and a stray `\n`
 * are accepted too, and empty lines are dropped. A frame that grows past maxFrame is discarded.
 */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrame = 64 * 1024) {}

  push(chunk: Uint8Array): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const frames: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < this.pending.length; i++) {
      const b = this.pending[i];
      if (b !== 0x0d && b !== 0x0a) continue;
      if (i > start) frames.push(this.pending.subarray(start, i));
      start = i + 1;
    }
    this.pending = this.pending.subarray(start);
    if (this.pending.length > this.maxFrame) this.pending = Buffer.alloc(0);
    return frames;
  }
}

/** SIP2 date `YYYYMMDDZZZZHHMMSS`; four spaces for the zone mean local time. */
export function formatSipDate(date: Date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${p(date.getFullYear(), 4)}${p(date.getMonth() + 1)}${p(date.getDate())}    ` +
    `${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`
  );
}

/**
 * A calendar date from the forms vendors send (YYYYMMDD…, YYYY-MM-DD…). Returns null when it is
 * not a plausible date; only the date part is read.
 */
export function parseSipDay(value: string | undefined): { year: number; month: number; day: number } | null {
  if (!value) return null;
  const m = /^\s*(\d{4})-?(\d{2})-?(\d{2})/.exec(value);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > 31 || year < 1850) return null;
  return { year, month, day };
}

/** Hides the login password (CO), terminal password (AC) and patron PIN (AD) in a frame for display. */
export function redactSip(text: string): string {
  return text.replace(
    /(^|\|)(CO|AC|AD)([^|]*)(?=\||AY\dAZ|AZ|$)/g,
    (_m, pre: string, tag: string, value: string) =>
      value === '' ? `${pre}${tag}` : `${pre}${tag}[redacted]`,
  );
}
