import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
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

  it('denies (store_unavailable) with store_error and disk_full alarms, and recovers when space returns', async () => {
    expect(await h.swipe(CARD)).toMatchObject({ outcome: 'granted', reason: 'allow' });
    let unlocks = 0;
    h.app.doors[0]!.door.onRelayWrite((_at, unlocked) => {
      if (unlocked) unlocks++;
    });
    const filler = join(disk, 'filler');
    const filled = fill(filler);

    // The WAL may still have room for a few commits; swipe until the store refuses.
    const outcomes: string[] = [];
    for (let i = 0; i < 500 && !outcomes.includes('store_unavailable'); i++) {
      outcomes.push((await h.swipe(CARD)).reason);
    }
    expect(outcomes.at(-1)).toBe('store_unavailable');
    const grantsBeforeFull = outcomes.filter((r) => r === 'allow').length;
    // Every grant while filling had its entry committed: the door opened only for those.
    const committed = h.app.db
      .prepare("SELECT COUNT(*) FROM entries WHERE outcome = 'granted'")
      .pluck()
      .get();
    expect(committed).toBe(1 + grantsBeforeFull);
    expect(unlocks).toBeLessThanOrEqual(grantsBeforeFull);

    // More swipes while full: all denied, the door stays shut, the service keeps running.
    const unlocksAtFull = unlocks;
    for (let i = 0; i < 5; i++)
      expect(await h.swipe(CARD)).toMatchObject({ outcome: 'denied', reason: 'store_unavailable' });
    expect(unlocks).toBe(unlocksAtFull);
    // The pulse of the last grant before the disk filled ends; nothing opens the door again.
    await waitFor(() => h.app.doors[0]!.door.state().locked, 2000, 'door locked');
    expect(h.alarmActive('store_error')).toBe(true);
    expect(h.alarmActive('disk_full')).toBe(true);
    expect(h.app.healthy().ok).toBe(false);

    rmSync(filler);
    const after = await h.swipe(CARD);
    expect(after).toMatchObject({ outcome: 'granted', reason: 'allow' });
    await waitFor(() => unlocks > unlocksAtFull, 2000, 'the door opens again');
    expect(h.alarmActive('store_error')).toBe(false);
    expect(h.alarmActive('disk_full')).toBe(false);
    expect(h.app.healthy().ok).toBe(true);
    expect(h.app.db.pragma('integrity_check', { simple: true })).toBe('ok');
    process.stdout.write(
      `disk full: filler ${Math.round(filled / 1024)} KiB; ${grantsBeforeFull} commits still fit, then store_unavailable; recovered\n`,
    );
  });
});
