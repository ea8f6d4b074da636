import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkEvent } from '../../src/contract/mqtt-check.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { EmergencyError, EmergencyModes, parseUntil } from '../../src/emergency/modes.ts';
import { EmergencyWatcher } from '../../src/emergency/watcher.ts';
import { EventBus } from '../../src/events/bus.ts';
import { toWireEvent } from '../../src/events/mqtt-payloads.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { localToUtc } from '../../src/web/time.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 30, 12);

describe('emergency mode', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let modes: EmergencyModes;
  beforeEach(() => {
    dir = tempDir('dorvakt-emergency-');
    db = openDb(join(dir.path, 'store.sqlite'));
    modes = new EmergencyModes(db);
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('is in force from its start until `until`, then ends by itself (fake clock)', () => {
    expect(modes.current(new Date(T0))).toBeNull();
    modes.set({ mode: 'nobody', until: T0 + 2 * HOUR, reason: 'gas leak next door' }, 'anne', T0);
    expect(modes.current(new Date(T0))).toMatchObject({
      mode: 'nobody',
      reason: 'gas leak next door',
      since: T0,
      until: T0 + 2 * HOUR,
    });
    expect(modes.current(new Date(T0 + 2 * HOUR - 1))?.mode).toBe('nobody');
    expect(modes.current(new Date(T0 + 2 * HOUR))).toBeNull();
    // Not before it was set either (a clock stepped back does not revive or pre-empt it).
    expect(modes.current(new Date(T0 - 1))).toBeNull();
  });

  it('an admin replaces or ends it early; every change is audited', () => {
    modes.set({ mode: 'nobody', until: T0 + 2 * HOUR, reason: 'gas leak next door' }, 'anne', T0);
    const second = modes.set(
      { mode: 'everybody', until: T0 + 3 * HOUR, reason: 'warm shelter' },
      'sven',
      T0 + HOUR,
    );
    expect(modes.current(new Date(T0 + HOUR))?.id).toBe(second.id);
    expect(modes.end('anne', 'storm over', T0 + 90 * 60_000)).toBe(true);
    expect(modes.current(new Date(T0 + 90 * 60_000))).toBeNull();
    expect(modes.end('anne', 'again', T0 + 91 * 60_000)).toBe(false);
    const audit = db.prepare('SELECT actor, action, reason, detail FROM audit ORDER BY id').all() as {
      actor: string;
      action: string;
      reason: string;
      detail: string;
    }[];
    expect(audit.map((a) => [a.actor, a.action, a.reason])).toEqual([
      ['anne', 'emergency.set', 'gas leak next door'],
      ['sven', 'emergency.set', 'warm shelter'],
      ['anne', 'emergency.ended', 'storm over'],
    ]);
    expect(JSON.parse(audit[1]!.detail)).toMatchObject({ mode: 'everybody', replaced: 1 });
    const history = modes.history(10, T0 + 2 * HOUR);
    expect(history.map((h) => [h.mode, h.setBy, h.endedBy])).toEqual([
      ['everybody', 'sven', 'anne'],
      ['nobody', 'anne', 'sven'],
    ]);
  });

  it('counts the swipes each period met', () => {
    modes.set({ mode: 'nobody', until: T0 + HOUR, reason: 'flooded hall' }, 'anne', T0);
    const insert = db.prepare(
      "INSERT INTO entries (ts, door, mode, outcome, reason) VALUES (?, 'main', 'staffless', ?, ?)",
    );
    insert.run(T0 + 1000, 'denied', 'emergency_closed');
    insert.run(T0 + 2000, 'denied', 'emergency_closed');
    insert.run(T0 + HOUR + 1, 'granted', 'allow');
    expect(modes.history(1, T0 + 2 * HOUR)[0]!.attempts).toEqual({ granted: 0, denied: 2 });
  });

  it('refuses a past end, a period over 31 days, a missing reason or an unknown mode', () => {
    expect(() => modes.set({ mode: 'nobody', until: T0, reason: 'x y z' }, 'a', T0)).toThrow(EmergencyError);
    expect(() => modes.set({ mode: 'nobody', until: T0 + 32 * 24 * HOUR, reason: 'x y z' }, 'a', T0)).toThrow(
      /31 days/,
    );
    expect(() => modes.set({ mode: 'nobody', until: T0 + HOUR, reason: ' ' }, 'a', T0)).toThrow(/reason/);
    expect(() => modes.set({ mode: 'all' as 'nobody', until: T0 + HOUR, reason: 'x y z' }, 'a', T0)).toThrow(
      /mode/,
    );
  });

  it('reads --until as a duration, a local time in the site zone, or an ISO time', () => {
    const local = (d: string, t: string) => localToUtc(d, t, 'Europe/Oslo');
    expect(parseUntil('90m', T0, local)).toBe(T0 + 90 * 60_000);
    expect(parseUntil('4h', T0, local)).toBe(T0 + 4 * HOUR);
    expect(parseUntil('2d', T0, local)).toBe(T0 + 48 * HOUR);
    expect(parseUntil('2026-11-30T18:00', T0, local)).toBe(Date.UTC(2026, 10, 30, 17));
    expect(parseUntil('2026-11-30T18:00:00Z', T0, local)).toBe(Date.UTC(2026, 10, 30, 18));
    expect(parseUntil('tomorrow', T0, local)).toBeUndefined();
  });

  it('the watcher publishes started and ended (at `until`, or by an admin) as contract events', () => {
    let clock = T0;
    const bus = new EventBus();
    const events: DorvaktEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const watcher = new EmergencyWatcher({ modes, bus, log: createLogger('silent'), now: () => clock });
    watcher.refresh();
    expect(events).toEqual([]);
    modes.set({ mode: 'everybody', until: T0 + HOUR, reason: 'shelter' }, 'anne', T0);
    watcher.refresh();
    watcher.refresh();
    clock = T0 + HOUR;
    watcher.refresh();
    modes.set({ mode: 'nobody', until: clock + HOUR, reason: 'leak' }, 'anne', clock);
    watcher.refresh();
    modes.end('anne', undefined, clock + 1);
    clock += 1;
    watcher.refresh();
    expect(events.map((e) => e.type === 'emergency' && [e.state, e.mode, e.ended])).toEqual([
      ['started', 'everybody', null],
      ['ended', 'everybody', 'expired'],
      ['started', 'nobody', null],
      ['ended', 'nobody', 'ended'],
    ]);
    for (const event of events) {
      const wire = toWireEvent(event);
      expect(checkEvent(wire).ok, JSON.stringify(wire)).toBe(true);
      // The reason is staff text: it stays in the store and the audit, never on MQTT.
      expect(JSON.stringify(wire)).not.toMatch(/shelter|leak/);
    }
  });
});
