import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { type Harness, type HarnessOptions, startHarness } from './app-harness.ts';
import { fill } from './fill.ts';
import { mutantCli, PULSE_BEFORE_COMMIT } from './mutant.ts';

/**
 * The store on a 3 MiB tmpfs (mounting needs root; the fault suite runs as root in CI). A filler
 * file takes the rest of the space while patrons keep swiping. Every swipe waits for the relock first,
 * so an unlock during a swipe is that swipe's own.
 */
const CARD = '10000001';

/** The whole fault, with its assertions; returns a line for the report. */
async function swipeThroughFullDisk(h: Harness, disk: string): Promise<string> {
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
  const swipeAtLockedDoor = async () => {
    await relocked();
    const before = unlocks;
    const entry = await h.swipe(CARD);
    return { reason: entry.reason, unlocked: unlocks > before };
  };

  expect(await swipeAtLockedDoor()).toEqual({ reason: 'allow', unlocked: true });
  const filler = join(disk, 'filler');
  const filled = fill(filler);

  // The WAL may still have room for a few commits; swipe until the store refuses. The door opens
  // exactly for the swipes whose entry was committed.
  const swipes: Awaited<ReturnType<typeof swipeAtLockedDoor>>[] = [];
  while (swipes.length < 500 && swipes.at(-1)?.reason !== 'store_unavailable')
    swipes.push(await swipeAtLockedDoor());
  for (const swipe of swipes)
    expect(swipe.unlocked, `unlocked on ${swipe.reason} while filling`).toBe(swipe.reason === 'allow');
  expect(swipes.at(-1)?.reason).toBe('store_unavailable');
  const grantsBeforeFull = swipes.filter((s) => s.reason === 'allow').length;
  const committed = h.app.db.prepare("SELECT COUNT(*) FROM entries WHERE outcome = 'granted'").pluck().get();
  expect(committed).toBe(1 + grantsBeforeFull);
  expect(h.alarmActive('store_error')).toBe(true);
  expect(h.alarmActive('disk_full')).toBe(true);

  // More swipes while full, each at a locked door: all denied, the relay never unlocks.
  for (let i = 0; i < 5; i++) {
    const swipe = await swipeAtLockedDoor();
    expect(swipe.reason).toBe('store_unavailable');
    expect(swipe.unlocked, 'unlocked while the disk is full').toBe(false);
  }
  expect(h.alarmActive('store_error')).toBe(true);
  expect(h.alarmActive('disk_full')).toBe(true);
  expect(h.app.healthy().ok).toBe(false);

  rmSync(filler);
  // Space is back: the next swipe commits and the door opens again.
  expect(await swipeAtLockedDoor()).toEqual({ reason: 'allow', unlocked: true });
  expect(h.alarmActive('store_error')).toBe(false);
  expect(h.alarmActive('disk_full')).toBe(false);
  expect(h.app.healthy().ok).toBe(true);
  expect(h.app.db.pragma('integrity_check', { simple: true })).toBe('ok');
  return (
    `disk full: filler ${Math.round(filled / 1024)} KiB; ${grantsBeforeFull} commits still fit, then ` +
    `store_unavailable; 6 swipes at a locked door while full, no unlock; recovered\n`
  );
}

describe('disk full while swiping', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  const mounts: string[] = [];
  let h: Harness | undefined;

  /** A fresh 3 MiB tmpfs and the door loop with its store on it. */
  async function onSmallDisk(name: string, startApp?: HarnessOptions['startApp']) {
    const disk = join(dir.path, name);
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0700', 'tmpfs', disk]);
    mounts.push(disk);
    h = await startHarness({
      dir: dir.path,
      pty,
      mqttUrl: broker.url,
      storePath: join(disk, 'store.sqlite'),
      valid: [CARD],
      ...(startApp ? { startApp } : {}),
    });
    return { h, disk };
  }

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir('diskfull-');
  });

  afterAll(async () => {
    await h?.stop();
    await pty?.close();
    await broker?.stop();
    for (const disk of mounts) execFileSync('umount', ['-l', disk]);
    dir?.cleanup();
  });

  it('denies (store_unavailable) with store_error and disk_full alarms, never unlocks while full, and recovers when space returns', async () => {
    const { h, disk } = await onSmallDisk('disk');
    process.stdout.write(await swipeThroughFullDisk(h, disk));
  });

  it('fails against the bug it guards: a relay pulsed before its commit', async () => {
    await h?.stop();
    h = undefined;
    const cli = mutantCli(dir.path, PULSE_BEFORE_COMMIT);
    const mutant = (await import(
      pathToFileURL(join(dirname(dirname(cli)), 'src', 'app.ts')).href
    )) as typeof import('../../src/app.ts');
    const { h: mutantHarness, disk } = await onSmallDisk('mutant-disk', mutant.startApp);
    await expect(swipeThroughFullDisk(mutantHarness, disk)).rejects.toThrow(
      /unlocked on store_unavailable while filling/,
    );
  });
});
