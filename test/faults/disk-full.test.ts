import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { type Harness, startHarness } from './app-harness.ts';
import { fill } from './fill.ts';

/**
 * The store on a 3 MiB tmpfs (mounting needs root; the fault suite runs as root in CI). A filler
 * file takes the rest of the space while patrons keep swiping.
 */
const CARD = '10000001';

describe('disk full while swiping', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let disk: string;
  let h: Harness;

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir('diskfull-');
    disk = join(dir.path, 'disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0700', 'tmpfs', disk]);
    h = await startHarness({
      dir: dir.path,
      pty,
      mqttUrl: broker.url,
      storePath: join(disk, 'store.sqlite'),
      valid: [CARD],
    });
  });

  afterAll(async () => {
    await h?.stop();
    await pty?.close();
    await broker?.stop();
    if (disk) execFileSync('umount', ['-l', disk]);
    dir?.cleanup();
  });

  it('denies (store_unavailable) with store_error and disk_full alarms, never unlocks while full, and recovers when space returns', async () => {
    const door = h.app.doors[0]!.door;
    let unlocks = 0;
    door.onRelayWrite((_at, unlocked) => {
      if (unlocked) unlocks++;
    });
    /** The relay's own acknowledgement that the last pulse is over: its write to locked. */
    const relocked = () =>
      new Promise<void>((resolve, reject) => {
        if (door.state().locked) return resolve();
        const timer = setTimeout(() => reject(new Error('the relay did not relock within 5 s')), 5000);
        const off = door.onRelayWrite((_at, unlocked) => {
          if (unlocked) return;
          clearTimeout(timer);
          off();
          resolve();
        });
      });
    /** A swipe at a locked door, so any relay unlock during it is this swipe's own. */
    const swipeAtLockedDoor = async () => {
      await relocked();
      const before = unlocks;
      const entry = await h.swipe(CARD);
      return { reason: entry.reason, outcome: entry.outcome, unlocked: unlocks > before };
    };

    expect(await swipeAtLockedDoor()).toEqual({ reason: 'allow', outcome: 'granted', unlocked: true });
    const filler = join(disk, 'filler');
    const filled = fill(filler);

    // The WAL may still have room for a few commits; swipe until the store refuses. The door opens
    // exactly for the swipes whose entry was committed.
    const swipes: Awaited<ReturnType<typeof swipeAtLockedDoor>>[] = [];
    while (swipes.length < 500 && swipes.at(-1)?.reason !== 'store_unavailable')
      swipes.push(await swipeAtLockedDoor());
    expect(swipes.at(-1)).toEqual({ reason: 'store_unavailable', outcome: 'denied', unlocked: false });
    for (const swipe of swipes) expect(swipe.unlocked).toBe(swipe.reason === 'allow');
    const grantsBeforeFull = swipes.filter((s) => s.reason === 'allow').length;
    const committed = h.app.db
      .prepare("SELECT COUNT(*) FROM entries WHERE outcome = 'granted'")
      .pluck()
      .get();
    expect(committed).toBe(1 + grantsBeforeFull);
    expect(h.alarmActive('store_error')).toBe(true);
    expect(h.alarmActive('disk_full')).toBe(true);

    // More swipes while full, each at a locked door: all denied, the relay never unlocks.
    for (let i = 0; i < 5; i++)
      expect(await swipeAtLockedDoor()).toEqual({
        reason: 'store_unavailable',
        outcome: 'denied',
        unlocked: false,
      });
    expect(h.alarmActive('store_error')).toBe(true);
    expect(h.alarmActive('disk_full')).toBe(true);
    expect(h.app.healthy().ok).toBe(false);

    rmSync(filler);
    // Space is back: the next swipe commits and the door opens again.
    expect(await swipeAtLockedDoor()).toEqual({ reason: 'allow', outcome: 'granted', unlocked: true });
    expect(h.alarmActive('store_error')).toBe(false);
    expect(h.alarmActive('disk_full')).toBe(false);
    expect(h.app.healthy().ok).toBe(true);
    expect(h.app.db.pragma('integrity_check', { simple: true })).toBe('ok');
    process.stdout.write(
      `disk full: filler ${Math.round(filled / 1024)} KiB; ${grantsBeforeFull} commits still fit, then store_unavailable; ` +
        `6 swipes at a locked door while full, no unlock; recovered\n`,
    );
  });
});
