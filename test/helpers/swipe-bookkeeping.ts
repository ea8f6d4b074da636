import type { EntryRecord, SwipeBookkeeping } from '../../src/store/entries.ts';

/** What one swipe writes, for store tests: a granted local swipe at `main` unless told otherwise. */
export function swipeBookkeeping(entry: Partial<EntryRecord> = {}): SwipeBookkeeping {
  return {
    entry: {
      ts: 1,
      door: 'main',
      mode: 'staffless',
      outcome: 'granted',
      reason: 'allow',
      cardHash: 'h'.repeat(64),
      category: null,
      ageBand: null,
      source: 'local',
      ...entry,
    },
    pinFailure: false,
    seenLive: null,
    touchLocalPatron: false,
  };
}
