/**
 * Pure frame parsers for the card reader profiles. No I/O and no timers: bytes go in with the
 * current monotonic time in ms, results come out. Rejection reasons never carry card digits or PINs.
 */
import { type CardFormat, formatText } from './card-format.ts';
import type { FrameProfile } from './config.ts';

export type RejectReason =
  /** stx-etx: a frame was cut short (STX inside a frame restarts it). */
  | 'bad_frame'
  /** stx-etx: 12-digit form whose XOR checksum does not match. */
  | 'bad_checksum'
  /** stx-etx: payload neither 10 nor 12 hex digits. */
  | 'bad_length'
  /** stx-etx: payload has a non-hex character. */
  | 'non_hex'
  /** stx-etx: bytes outside STX…ETX. */
  | 'garbage'
  /** Line or frame longer than the profile allows; resynchronises at the next terminator. */
  | 'overflow'
  /** line/keypad: a byte outside printable ASCII. */
  | 'non_printable'
  /** Card text does not match card_pattern. */
  | 'pattern_mismatch'
  /** keypad: no `#` within pin_timeout_ms of the card. */
  | 'pin_timeout'
  /** keypad: PIN not 4–8 digits. */
  | 'bad_pin'
  /** keypad: PIN entered without a card before it. */
  | 'pin_without_card'
  /** keypad: typed input left unfinished for pin_timeout_ms. */
  | 'incomplete'
  /** line/stx-etx: half a frame, then silence longer than frame_gap_ms: dropped, never joined to later bytes. */
  | 'stale_partial'
  /** osdp: card data that did not come over the secure channel the config asks for. */
  | 'insecure';

export type FrameResult =
  | { kind: 'swipe'; card: string; pin?: string }
  | { kind: 'rejected'; why: RejectReason };

export interface FrameParser {
  /** Feeds one chunk (any size, any split); returns what these bytes completed, in order. */
  push(chunk: Uint8Array, nowMs: number): FrameResult[];
  /** Results due to time passing (keypad PIN timeout); call at or after nextDeadline(). */
  expire(nowMs: number): FrameResult[];
  /** When expire() next has something to do, or undefined if nothing waits on time. */
  nextDeadline(): number | undefined;
  /** Forgets any half-read frame (reconnect: nothing carries across). */
  reset(): void;
}

export interface ParserOptions {
  card_pattern: string;
  pin_timeout_ms: number;
  /** line/stx-etx: a partial frame older than this is dropped (readers send a whole frame at once). */
  frame_gap_ms?: number | undefined;
  /** The number as the library system knows it (card-format.ts); default as read. */
  card_format?: CardFormat | undefined;
}

export const DEFAULT_FRAME_GAP_MS = 500;

/**
 * Drops a half-read frame after a silence: a card number typed slowly, or a frame cut by a glitch, must
 * not be completed by bytes that arrive seconds later.
 */
class GapWatch {
  private lastByteAt = 0;
  constructor(private readonly gapMs: number) {}

  /** True when a frame was in progress and the silence before `nowMs` exceeds the gap. */
  stale(inProgress: boolean, nowMs: number): boolean {
    return inProgress && nowMs - this.lastByteAt > this.gapMs;
  }
  touch(nowMs: number): void {
    this.lastByteAt = nowMs;
  }
  deadline(inProgress: boolean): number | undefined {
    return inProgress ? this.lastByteAt + this.gapMs + 1 : undefined;
  }
}

/** Longest accepted line (card or PIN) in the line and keypad profiles. */
export const MAX_LINE = 64;
/** Longest accepted stx-etx body: 12 hex + CR LF. */
const MAX_STX_BODY = 14;

const CR = 0x0d;
const LF = 0x0a;
const STX = 0x02;
const ETX = 0x03;

/** The card pattern must match the whole card, whether or not the config anchors it. */
export function compileCardPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/** The card number in the configured form, or undefined when it is not in that form or breaks the pattern. */
function cardAcceptor(options: ParserOptions): (text: string) => string | undefined {
  const pattern = compileCardPattern(options.card_pattern);
  const format = options.card_format ?? 'as-read';
  return (text) => {
    const card = formatText(text, format);
    return card !== undefined && pattern.test(card) ? card : undefined;
  };
}

export function createParser(profile: FrameProfile, options: ParserOptions): FrameParser {
  switch (profile) {
    case 'line':
      return new LineParser(options);
    case 'stx-etx':
      return new StxEtxParser(options);
    case 'keypad':
      return new KeypadParser(options);
  }
}

const isPrintable = (b: number) => b >= 0x20 && b <= 0x7e;
const isTerminator = (b: number) => b === CR || b === LF;

/**
 * Collects printable bytes up to MAX_LINE. A line with a bad byte or too long is spoiled: it is
 * rejected once and the rest of it is skipped up to the next terminator.
 */
class LineBuffer {
  private bytes: number[] = [];
  /** Why the current line is being skipped, if it is. */
  spoiled: RejectReason | undefined;

  get length(): number {
    return this.bytes.length;
  }

  /** Adds a non-terminator byte; returns a rejection when this byte spoils the line. */
  add(b: number): RejectReason | undefined {
    if (this.spoiled) return undefined;
    if (!isPrintable(b)) this.spoiled = 'non_printable';
    else if (this.bytes.length >= MAX_LINE) this.spoiled = 'overflow';
    else this.bytes.push(b);
    return this.spoiled;
  }

  /** Ends the line: its trimmed text, or undefined if it was spoiled or blank. */
  take(): string | undefined {
    const text = this.spoiled ? undefined : String.fromCharCode(...this.bytes).trim();
    this.clear();
    return text || undefined;
  }

  clear(): void {
    this.bytes = [];
    this.spoiled = undefined;
  }
}

/** Barcode scanners: one card per line, ended by CR, LF or CRLF; blank lines ignored. */
class LineParser implements FrameParser {
  private readonly accept: (text: string) => string | undefined;
  private readonly line = new LineBuffer();
  private readonly gap: GapWatch;

  constructor(options: ParserOptions) {
    this.accept = cardAcceptor(options);
    this.gap = new GapWatch(options.frame_gap_ms ?? DEFAULT_FRAME_GAP_MS);
  }

  private get inProgress(): boolean {
    return this.line.length > 0 || this.line.spoiled !== undefined;
  }

  push(chunk: Uint8Array, nowMs: number): FrameResult[] {
    const out = this.expire(nowMs);
    if (chunk.length > 0) this.gap.touch(nowMs);
    for (const b of chunk) {
      if (isTerminator(b)) {
        const text = this.line.take();
        if (text === undefined) continue;
        const card = this.accept(text);
        out.push(
          card !== undefined ? { kind: 'swipe', card } : { kind: 'rejected', why: 'pattern_mismatch' },
        );
      } else {
        const why = this.line.add(b);
        if (why) out.push({ kind: 'rejected', why });
      }
    }
    return out;
  }

  expire(nowMs: number): FrameResult[] {
    if (!this.gap.stale(this.inProgress, nowMs)) return [];
    // A spoiled line was already rejected once; its stale rest is only dropped.
    const wasSpoiled = this.line.spoiled !== undefined;
    this.line.clear();
    return wasSpoiled ? [] : [{ kind: 'rejected', why: 'stale_partial' }];
  }
  nextDeadline(): number | undefined {
    return this.gap.deadline(this.inProgress);
  }
  reset(): void {
    this.line.clear();
  }
}

/**
 * EM4100 125 kHz readers: STX, 10 hex data digits, optionally 2 hex checksum digits (XOR of the
 * 5 data bytes), optionally CR LF, ETX. The card is the 10 data digits in upper case.
 */
class StxEtxParser implements FrameParser {
  private readonly accept: (text: string) => string | undefined;
  /** Bytes since STX; undefined while outside a frame. */
  private body: number[] | undefined;
  /** Already rejected the current run of stray bytes (one rejection per run, not per byte). */
  private skipping = false;
  private readonly gap: GapWatch;

  constructor(options: ParserOptions) {
    this.accept = cardAcceptor(options);
    this.gap = new GapWatch(options.frame_gap_ms ?? DEFAULT_FRAME_GAP_MS);
  }

  push(chunk: Uint8Array, nowMs: number): FrameResult[] {
    const out = this.expire(nowMs);
    if (chunk.length > 0) this.gap.touch(nowMs);
    const reject = (why: RejectReason) => out.push({ kind: 'rejected', why });
    for (const b of chunk) {
      if (b === STX) {
        if (this.body) reject('bad_frame');
        this.body = [];
        this.skipping = false;
      } else if (!this.body) {
        if (!this.skipping) reject('garbage');
        this.skipping = true;
      } else if (b === ETX) {
        out.push(this.frame(this.body));
        this.body = undefined;
      } else if (this.body.length >= MAX_STX_BODY) {
        // The rest of this frame, up to the next STX, is one stray run.
        reject('overflow');
        this.body = undefined;
        this.skipping = true;
      } else {
        this.body.push(b);
      }
    }
    return out;
  }

  private frame(body: number[]): FrameResult {
    const n = body.length;
    const digits = n >= 2 && body[n - 2] === CR && body[n - 1] === LF ? body.slice(0, n - 2) : body;
    const text = String.fromCharCode(...digits);
    if (!/^[0-9A-Fa-f]*$/.test(text)) return { kind: 'rejected', why: 'non_hex' };
    if (text.length !== 10 && text.length !== 12) return { kind: 'rejected', why: 'bad_length' };
    const hex = text.slice(0, 10).toUpperCase();
    if (text.length === 12) {
      let xor = 0;
      for (let i = 0; i < 10; i += 2) xor ^= Number.parseInt(text.slice(i, i + 2), 16);
      if (xor !== Number.parseInt(text.slice(10), 16)) return { kind: 'rejected', why: 'bad_checksum' };
    }
    const card = this.accept(hex);
    if (card === undefined) return { kind: 'rejected', why: 'pattern_mismatch' };
    return { kind: 'swipe', card };
  }

  expire(nowMs: number): FrameResult[] {
    if (!this.gap.stale(this.body !== undefined, nowMs)) {
      // A run of stray bytes ends with the silence too, so the next run is reported again.
      if (this.skipping && this.body === undefined && this.gap.stale(true, nowMs)) this.skipping = false;
      return [];
    }
    this.body = undefined;
    return [{ kind: 'rejected', why: 'stale_partial' }];
  }
  nextDeadline(): number | undefined {
    return this.gap.deadline(this.body !== undefined);
  }
  reset(): void {
    this.body = undefined;
    this.skipping = false;
  }
}

/**
 * Card then PIN. A card is a line (ended by CR/LF, as in `line`); a PIN is digits ended by `#`;
 * `*` clears what has been typed. After a card, a PIN must end within pin_timeout_ms; a new card
 * meanwhile replaces the old one. Keys must arrive as plain characters (no terminator per key).
 */
class KeypadParser implements FrameParser {
  private readonly accept: (text: string) => string | undefined;
  private readonly timeoutMs: number;
  private readonly input = new LineBuffer();
  private card: string | undefined;
  private pinDeadline = 0;
  private lastInputAt = 0;

  constructor(options: ParserOptions) {
    this.accept = cardAcceptor(options);
    this.timeoutMs = options.pin_timeout_ms;
  }

  push(chunk: Uint8Array, nowMs: number): FrameResult[] {
    const out = this.expire(nowMs);
    for (const b of chunk) {
      if (isTerminator(b)) {
        const text = this.input.take();
        if (text === undefined) continue;
        const card = this.accept(text);
        if (card !== undefined) {
          this.card = card;
          this.pinDeadline = nowMs + this.timeoutMs;
        } else {
          out.push({ kind: 'rejected', why: 'pattern_mismatch' });
        }
      } else if (b === 0x2a /* * */) {
        this.input.clear();
      } else if (b === 0x23 /* # */) {
        const spoiled = this.input.spoiled !== undefined;
        const pin = this.input.take();
        if (this.card === undefined) {
          out.push({ kind: 'rejected', why: 'pin_without_card' });
        } else if (pin !== undefined && /^[0-9]{4,8}$/.test(pin)) {
          out.push({ kind: 'swipe', card: this.card, pin });
          this.card = undefined;
        } else {
          // Spoiled input (overflow, non-printable) was already rejected when it happened.
          if (!spoiled) out.push({ kind: 'rejected', why: 'bad_pin' });
          this.card = undefined;
        }
      } else {
        const why = this.input.add(b);
        if (why) out.push({ kind: 'rejected', why });
        this.lastInputAt = nowMs;
      }
    }
    return out;
  }

  expire(nowMs: number): FrameResult[] {
    const deadline = this.nextDeadline();
    if (deadline === undefined || nowMs < deadline) return [];
    const why: RejectReason = this.card !== undefined ? 'pin_timeout' : 'incomplete';
    this.reset();
    return [{ kind: 'rejected', why }];
  }

  nextDeadline(): number | undefined {
    if (this.card !== undefined) return this.pinDeadline;
    // Keys typed without a card go stale too, so they do not prefix the next card.
    if (this.input.length > 0) return this.lastInputAt + this.timeoutMs;
    return undefined;
  }

  reset(): void {
    this.input.clear();
    this.card = undefined;
  }
}
