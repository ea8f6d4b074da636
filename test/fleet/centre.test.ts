/** The centre's bookkeeping without a broker: contact, site_offline, refusals (real SQLite, injected clock). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../src/fleet/central-config.ts';
import { openFleetDb } from '../../src/fleet/central-store.ts';
import { type CentreChange, FleetCentre } from '../../src/fleet/centre.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Db } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

const MIN = 60_000;
let dir: ReturnType<typeof tempDir> | undefined;
let db: Db | undefined;
let running: FleetCentre | undefined;
afterEach(async () => {
  await running?.stop();
  db?.close();
  dir?.cleanup();
});

function setup() {
  dir = tempDir('fleet-centre-');
  const config = parseFleetConfig(
    `store: { path: ${join(dir.path, 'fleet.sqlite')} }\noffline_after_minutes: 15\nsites: [{ id: north }, { id: south }]\n`,
    'fleet.yaml',
  );
  db = openFleetDb(config.store.path);
  let now = Date.parse('2026-11-30T12:00:00Z');
  const centre = new FleetCentre({
    config,
    db,
    log: createLogger('silent'),
    keys: new Map(),
    nowMs: () => now,
  });
  running = centre;
  // What a message changes in the store is written a moment later, with whatever else came meanwhile.
  const offline = () => {
    centre.writePending();
    return (
      db!
        .prepare(
          "SELECT site FROM centre_alarms WHERE code = 'site_offline' AND cleared_at IS NULL ORDER BY site",
        )
        .all() as { site: string }[]
    ).map((r) => r.site);
  };
  return { centre, db, offline, advance: (ms: number) => (now += ms) };
}

const health = Buffer.from(
  JSON.stringify({
    v: 1,
    ts: '2026-11-30T12:00:00.000Z',
    pending_figures: 0,
    oldest_identified: null,
    identified_days: 30,
    retention_ok: true,
  }),
);

describe('fleet centre', () => {
  it('counts only live messages as contact: a retained one is old news', () => {
    const f = setup();
    f.advance(16 * MIN);
    f.centre.handle('dorvakt/north/fleet/health', health, true);
    f.centre.handle('dorvakt/south/fleet/health', health, false);
    expect(f.centre.checkOffline()).toEqual(['north']);
    expect(f.offline()).toEqual(['north']);
    // Raised once, however often it is checked.
    expect(f.centre.checkOffline()).toEqual([]);
    f.centre.handle('dorvakt/north/status', Buffer.from('online'), false);
    expect(f.offline()).toEqual([]);
  });

  it('writes last contact at most every few seconds per site, and judges site_offline by the last message', () => {
    const f = setup();
    const stored = () => {
      f.centre.writePending();
      return f.db
        .prepare("SELECT last_contact_at FROM centre_sites WHERE site = 'north'")
        .pluck()
        .get() as number;
    };
    f.centre.handle('dorvakt/north/status', Buffer.from('online'), false);
    const first = stored();
    f.advance(5000);
    f.centre.handle('dorvakt/north/fleet/health', health, false);
    expect(stored()).toBe(first);
    // 15 minutes after the first message, under 15 after the last: north is not offline, south (silent) is.
    f.advance(15 * MIN - 4000);
    expect(f.centre.checkOffline()).toEqual(['south']);
    f.advance(5000);
    expect(f.centre.checkOffline()).toEqual(['north']);
    f.centre.handle('dorvakt/north/status', Buffer.from('online'), false);
    expect(f.offline()).toEqual(['south']);
    expect(stored()).toBe(first + 15 * MIN + 6000);
  });

  it('writes the door states that came together in one commit, the latest per door', async () => {
    const f = setup();
    const state = (locked: boolean) => Buffer.from(JSON.stringify({ locked, open: false }));
    const written = new Promise<void>((resolve) => {
      let n = 0;
      f.centre.changes.on('change', (c: CentreChange) => {
        if (c.kind === 'door' && ++n === 2) resolve();
      });
    });
    f.centre.handle('dorvakt/north/door/front/state', state(true), true);
    f.centre.handle('dorvakt/north/door/front/state', state(false), false);
    f.centre.handle('dorvakt/south/door/side/state', state(true), true);
    expect(f.db.prepare('SELECT COUNT(*) FROM centre_doors').pluck().get()).toBe(0);
    await written;
    expect(f.db.prepare('SELECT site, door, state FROM centre_doors ORDER BY site').all()).toEqual([
      { site: 'north', door: 'front', state: '{"locked":false,"open":false}' },
      { site: 'south', door: 'side', state: '{"locked":true,"open":false}' },
    ]);
  });

  it('raises site_offline for a site never heard from, once offline_after_minutes have passed since start', () => {
    const f = setup();
    f.advance(14 * MIN);
    expect(f.centre.checkOffline()).toEqual([]);
    f.advance(2 * MIN);
    expect(f.centre.checkOffline()).toEqual(['north', 'south']);
  });

  it('refuses and counts what it cannot use, and changes nothing for it', () => {
    const f = setup();
    f.centre.handle('dorvakt/elsewhere/fleet/health', health, false);
    f.centre.handle('dorvakt/north/fleet/figures', Buffer.from('{"v":1,"id":"x"}'), false);
    f.centre.handle('dorvakt/north/fleet/health', Buffer.from('[]'), false);
    f.centre.handle('dorvakt/north/event', Buffer.from('not json'), false);
    expect(f.centre.counters.refused).toEqual({
      unknown_site: 1,
      'figures:id': 1,
      'health:not a v1 object': 1,
      event: 1,
    });
    expect(f.db.prepare('SELECT COUNT(*) FROM centre_figures').pluck().get()).toBe(0);
    expect(f.db.prepare("SELECT COUNT(*) FROM centre_sites WHERE site = 'elsewhere'").pluck().get()).toBe(0);
  });

  it('keeps branch alarms from their events until cleared and acknowledged', () => {
    const f = setup();
    const alarm = (state: string) =>
      Buffer.from(
        JSON.stringify({
          v: 2,
          type: 'alarm',
          alarm: 'door_forced',
          state,
          scope: 'front',
          detail: null,
          ts: '2026-11-30T12:00:00.000Z',
        }),
      );
    f.centre.handle('dorvakt/north/event', alarm('raised'), false);
    f.centre.handle('dorvakt/north/event', alarm('raised'), false);
    const rows = () =>
      f.db
        .prepare(
          'SELECT code, scope, cleared_at IS NOT NULL AS cleared, acked_at IS NOT NULL AS acked FROM centre_alarms',
        )
        .all();
    expect(rows()).toEqual([{ code: 'door_forced', scope: 'front', cleared: 0, acked: 0 }]);
    f.centre.handle('dorvakt/north/event', alarm('cleared'), false);
    expect(rows()).toEqual([{ code: 'door_forced', scope: 'front', cleared: 1, acked: 0 }]);
    const id = f.db.prepare('SELECT id FROM centre_alarms').pluck().get() as number;
    expect(f.centre.acknowledgeAlarm(id, 'ola')).toBe(true);
    expect(f.centre.acknowledgeAlarm(id, 'ola')).toBe(false);
    expect(f.db.prepare("SELECT actor, action FROM audit WHERE action = 'alarm.acknowledge'").all()).toEqual([
      { actor: 'ola', action: 'alarm.acknowledge' },
    ]);
  });

  it('reads the shipped example config, and refuses a site named fleet or listed twice', () => {
    const example = parseFleetConfig(readFileSync('config/fleet.example.yaml', 'utf8'), 'fleet.example.yaml');
    expect(example.sites.map((s) => s.id)).toEqual(['hovedbiblioteket', 'filial-nord']);
    expect(example.offline_after_minutes).toBe(15);
    expect(() => parseFleetConfig('sites: [{ id: fleet }]', 'f.yaml')).toThrow(/sites/);
    expect(() => parseFleetConfig('sites: [{ id: a }, { id: a }]', 'f.yaml')).toThrow(/listed twice/);
  });
});
