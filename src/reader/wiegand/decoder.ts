/**
 * Wiegand frames from timestamped falling edges: a pulse on DATA0 is a 0, on DATA1 a 1; a frame ends
 * after a silence. 26-bit (H10301) and 34-bit frames are accepted when both parity bits hold: the
 * first bit is even parity over the first half of the data bits, the last bit odd parity over the
 * second half. Pure: no I/O, no timers; the caller closes a frame on idle (`end`).
 */
import type { WiegandData } from '../card-format.ts';
import type { Edge } from './gpiomon.ts';

/** Why a frame was dropped. Mapped onto the reader's reject reasons in reader.ts. */
export type WiegandDrop = 'parity' | 'length' | 'noise';

export type WiegandResult = { kind: 'frame'; frame: WiegandData } | { kind: 'dropped'; why: WiegandDrop };

export interface DecoderOptions {
  d0: number;
  d1: number;
  /** Silence between two edges that ends a frame, ns. */
  gapNs: bigint;
  /** Two edges closer than this: noise, ns. */
  minIntervalNs: bigint;
}

/** Longer than any frame we read; past it the frame is only counted, not kept. */
const MAX_BITS = 64;
/** Fewer bits than this is a blip on the wire, not a frame cut short. */
const MIN_FRAME_BITS = 4;

export class WiegandDecoder {
  private bits: number[] = [];
  private lastNs: bigint | undefined;
  private noisy = false;

  constructor(private readonly options: DecoderOptions) {}

  get inProgress(): boolean {
    return this.bits.length > 0 || this.noisy;
  }

  /** One edge; returns the frame an earlier silence ended, if any. Rising edges and other lines are ignored. */
  edge(edge: Edge): WiegandResult[] {
    if (!edge.falling) return [];
    const bit = edge.offset === this.options.d0 ? 0 : edge.offset === this.options.d1 ? 1 : undefined;
    if (bit === undefined) return [];
    const out: WiegandResult[] = [];
    if (this.lastNs !== undefined && this.inProgress) {
      const since = edge.ns - this.lastNs;
      if (since > this.options.gapNs) out.push(...this.end());
      else if (since < this.options.minIntervalNs) this.noisy = true;
    }
    this.lastNs = edge.ns;
    // Kept up to one past the limit: enough to know the frame is too long.
    if (this.bits.length <= MAX_BITS) this.bits.push(bit);
    return out;
  }

  /** The silence after the last edge ended the frame. */
  end(): WiegandResult[] {
    if (!this.inProgress) return [];
    const bits = this.bits;
    const noisy = this.noisy;
    this.reset();
    if (noisy || bits.length < MIN_FRAME_BITS) return [{ kind: 'dropped', why: 'noise' }];
    return [decodeFrame(bits)];
  }

  reset(): void {
    this.bits = [];
    this.noisy = false;
  }
}

/** A whole frame's bits, first received first. */
export function decodeFrame(bits: readonly number[]): WiegandResult {
  if (bits.length !== 26 && bits.length !== 34) return { kind: 'dropped', why: 'length' };
  const n = bits.length;
  const half = (n - 2) / 2;
  const ones = (from: number, to: number) => bits.slice(from, to).reduce((a, b) => a + b, 0);
  // Even parity: bit 0 plus the first half has an even number of ones; odd: the second half plus the last bit, odd.
  if ((bits[0]! + ones(1, 1 + half)) % 2 !== 0) return { kind: 'dropped', why: 'parity' };
  if ((ones(1 + half, n - 1) + bits[n - 1]!) % 2 !== 1) return { kind: 'dropped', why: 'parity' };
  let data = 0;
  for (let i = 1; i < n - 1; i++) data = data * 2 + bits[i]!;
  return { kind: 'frame', frame: { bits: n as 26 | 34, data } };
}

/** The bits of a frame for a given payload, parity included (tests, the bench and the fake reader). */
export function encodeFrame(length: 26 | 34, data: number): number[] {
  const dataBits = length - 2;
  const payload: number[] = [];
  for (let i = dataBits - 1; i >= 0; i--) payload.push(Math.floor(data / 2 ** i) % 2);
  const half = dataBits / 2;
  const first = payload.slice(0, half).reduce((a, b) => a + b, 0);
  const second = payload.slice(half).reduce((a, b) => a + b, 0);
  return [first % 2, ...payload, (second + 1) % 2];
}
