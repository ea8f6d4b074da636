import type { SwipeMarks } from '../access/gate.ts';

/** One swipe's wait split by stage, in ms to 0.01: the stages add up to `relay_ms` (frame → relay written). */
export interface SwipeStagesMs {
  /** Behind an earlier swipe at the same door, and the hop from the reader's event to the gate. */
  queue: number;
  facts: number;
  patron: number;
  decide: number;
  record: number;
  /** From the committed entry to the relay written; absent when the relay did not move (a refusal). */
  relay?: number;
}

const ms = (from: bigint, to: bigint): number => Math.round(Number(to - from) / 1e4) / 100;

export function swipeStagesMs(
  received: bigint,
  started: bigint,
  marks: SwipeMarks,
  unlockedAt: bigint | undefined,
): SwipeStagesMs {
  return {
    queue: ms(received, started),
    facts: ms(started, marks.facts),
    patron: ms(marks.facts, marks.patron),
    decide: ms(marks.patron, marks.decided),
    record: ms(marks.decided, marks.recorded),
    ...(unlockedAt === undefined ? {} : { relay: ms(marks.recorded, unlockedAt) }),
  };
}
