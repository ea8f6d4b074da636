import { describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDb } from '../../src/store/db.ts';
import { openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { watchJournal } from '../../src/store/journal-watch.ts';

const MINUTE = 60_000;

describe('entries left in the door journal', () => {
  it('raise entries_undelivered once the oldest has waited a minute, and clear it once the store has them', () => {
    const store = openDb(':memory:');
    const entries = new EntryStore(store, openDoorJournal(':memory:'));
    const alarms = new Alarms(null, new EventBus(), createLogger('silent'));
    const clock = { now: Date.parse('2026-12-01T12:00:00Z') };
    const watch = watchJournal({
      oldestUndelivered: () => entries.oldestUndeliveredAt(),
      alarms,
      now: () => clock.now,
    });
    try {
      // The store is locked for good: nothing is handed on.
      store.pragma('query_only = ON');
      entries.record({
        entry: {
          ts: clock.now,
          door: 'main',
          mode: 'staffless',
          outcome: 'granted',
          reason: 'allow',
          cardHash: 'h',
          category: null,
          ageBand: null,
          source: 'local',
        },
        pinFailure: false,
        seenLive: null,
        touchLocalPatron: false,
      });
      entries.deliver();
      expect(entries.oldestUndeliveredAt()).toBe(clock.now);

      clock.now += MINUTE - 1;
      watch.check();
      expect(alarms.isActive('entries_undelivered')).toBe(false);
      clock.now += 1;
      watch.check();
      expect(alarms.isActive('entries_undelivered')).toBe(true);
      expect(alarms.list()[0]!.detail).toBe('waiting since 2026-12-01T12:00:00.000Z');

      store.pragma('query_only = OFF');
      entries.deliver();
      expect(entries.oldestUndeliveredAt()).toBeNull();
      watch.check();
      expect(alarms.isActive('entries_undelivered')).toBe(false);
    } finally {
      watch.stop();
      void entries.stop();
    }
  });
});
