/**
 * Direction from a pair of light beams across a doorway: `outside` (A) and `inside` (B). A person walking in
 * breaks A first and clears B last; one walking out the other way round. Pure: levels and times go in,
 * passages come out; the GPIO side (beam-input.ts) feeds it and owns the clock.
 */
import type { PassageDirection } from '../contract/events.ts';

export type Beam = 'outside' | 'inside';

export type BeamOutcome =
  | { kind: 'passage'; direction: PassageDirection; at: number }
  /** Begun but not finished in time, or turned back (first broken beam cleared last). */
  | { kind: 'abandoned'; why: 'timeout' | 'turned_back'; at: number };

const other = (beam: Beam): Beam => (beam === 'outside' ? 'inside' : 'outside');

export class BeamPair {
  /** Debounced level per beam: true while broken. */
  private readonly blocked: Record<Beam, boolean> = { outside: false, inside: false };
  /** The level last read, which may still be chatter. */
  private readonly raw: Record<Beam, boolean> = { outside: false, inside: false };
  private readonly changedAt: Record<Beam, number> = {
    outside: Number.NEGATIVE_INFINITY,
    inside: Number.NEGATIVE_INFINITY,
  };
  private readonly broken: Record<Beam, boolean> = { outside: false, inside: false };
  private first: Beam | null = null;
  private lastCleared: Beam | null = null;
  private startedAt = 0;

  constructor(
    private readonly debounceMs: number,
    private readonly timeoutMs: number,
  ) {}

  /** A level read from one beam (true: broken) at `at` (ms). */
  edge(beam: Beam, isBlocked: boolean, at: number): BeamOutcome[] {
    const out = this.expire(at);
    this.raw[beam] = isBlocked;
    if (isBlocked === this.blocked[beam]) return out;
    // Leading-edge debounce: the first change counts at once; chatter after it is settled later (settle).
    if (at - this.changedAt[beam] < this.debounceMs) return out;
    return [...out, ...this.accept(beam, isBlocked, at)];
  }

  /** Takes levels that have held past the debounce, and abandons a passage past its timeout. */
  settle(at: number): BeamOutcome[] {
    const out: BeamOutcome[] = [];
    for (const beam of ['outside', 'inside'] as const)
      if (this.raw[beam] !== this.blocked[beam] && at - this.changedAt[beam] >= this.debounceMs)
        out.push(...this.accept(beam, this.raw[beam], at));
    out.push(...this.expire(at));
    return out;
  }

  /** A passage is under way (tests, the bench). */
  get busy(): boolean {
    return this.first !== null;
  }

  private accept(beam: Beam, isBlocked: boolean, at: number): BeamOutcome[] {
    this.blocked[beam] = isBlocked;
    this.changedAt[beam] = at;
    if (isBlocked) {
      if (this.first === null) {
        this.first = beam;
        this.startedAt = at;
      }
      this.broken[beam] = true;
      return [];
    }
    this.lastCleared = beam;
    if (this.first === null || this.blocked[other(beam)]) return [];
    // Both clear. With only one beam broken so far the person may be between the beams: wait (timeout).
    if (!this.broken.outside || !this.broken.inside) return [];
    const first = this.first;
    // Turned back: the first beam cleared last, clearly after the other. Two clears within the debounce of each
    // other are a person leaving both beams at once, or two polled lines read in the same turn: counted by the breaks.
    const crossed = this.lastCleared !== first || at - this.changedAt[other(first)] < this.debounceMs;
    this.reset();
    if (!crossed) return [{ kind: 'abandoned', why: 'turned_back', at }];
    return [{ kind: 'passage', direction: first === 'outside' ? 'in' : 'out', at }];
  }

  private expire(at: number): BeamOutcome[] {
    if (this.first === null || at - this.startedAt <= this.timeoutMs) return [];
    this.reset();
    return [{ kind: 'abandoned', why: 'timeout', at }];
  }

  private reset(): void {
    this.first = null;
    this.lastCleared = null;
    // A beam still blocked after a timeout (a bag on the floor) does not start the next passage by itself.
    this.broken.outside = false;
    this.broken.inside = false;
  }
}
