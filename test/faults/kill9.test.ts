import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { type ServiceChild, seedPatrons, spawnService, writeFaultConfig } from './service-child.ts';

/**
 * kill -9 at random moments while 10,000 swipes stream in over a real pty to the real CLI. The sim
 * door appends + fsyncs a line per relay unlock (an outside record, like a camera on the lock). After
 * every kill: the store opens, integrity_check is ok, and every unlock has its granted entry.
 */
const SWIPES = Number(process.env.DORVAKT_KILL9_SWIPES ?? 10_000);
const PULSE_MS = 100;
const VALID = Array.from({ length: 40 }, (_, i) => String(10_000_001 + i));
const UNKNOWN = Array.from({ length: 20 }, (_, i) => String(90_000_001 + i));

let seed = Number(process.env.DORVAKT_FAULT_SEED ?? Date.now() % 1_000_000);
/** A small seeded PRNG, so a failing run can be repeated (the seed is printed). */
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
}

interface Unlock {
  at: number;
}

function readUnlocks(path: string): Unlock[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => /^\d+ unlock$/.test(l))
    .map((l) => ({ at: Number(l.split(' ')[0]) }));
}

/**
 * Swipes at one door are decided one after another, and the relay write of a grant happens inside
 * that swipe's handling, so the entry behind unlock k started after unlock k-1: it lies in
 * [unlock k-1, unlock k]. Each unlock needs a committed granted entry in its own window.
 */
function unlocksWithoutEntry(unlocks: Unlock[], grantedTs: number[]): number[] {
  const missing: number[] = [];
  let j = 0;
  let previous = Number.NEGATIVE_INFINITY;
  for (const unlock of unlocks) {
    while (j < grantedTs.length && grantedTs[j]! < previous) j++;
    if (j < grantedTs.length && grantedTs[j]! <= unlock.at) j++;
    else missing.push(unlock.at);
    previous = unlock.at;
  }
  return missing;
}

function checkStore(storePath: string): { integrity: string; grantedTs: number[]; entries: number } {
  const db = new Database(storePath);
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const grantedTs = db
      .prepare("SELECT ts FROM entries WHERE outcome = 'granted' ORDER BY ts, id")
      .pluck()
      .all() as number[];
    const entries = db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
    return { integrity, grantedTs, entries };
  } finally {
    db.close();
  }
}

describe('kill -9 during 10,000 swipes', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let configPath: string;
  let relayLog: string;
  let storePath: string;

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir('kill9-');
    relayLog = join(dir.path, 'relay.log');
    storePath = join(dir.path, 'store.sqlite');
    configPath = writeFaultConfig({
      dir: dir.path,
      readerPath: pty.devicePath,
      mqttUrl: broker.url,
      relayLog,
      pulseMs: PULSE_MS,
    });
    seedPatrons(storePath, VALID);
  });

  afterAll(async () => {
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('loses no entry whose relay unlocked; the store is intact after every kill', async () => {
    const startSeed = seed;
    let sent = 0;
    let decided = 0;
    let kills = 0;
    let killsDuringStart = 0;
    const started = Date.now();
    let lastValidAt = 0;
    while (sent < SWIPES) {
      const child: ServiceChild = spawnService(configPath);
      const duringStart = random() < 0.15;
      if (duringStart) {
        // Somewhere in start-up: opening the store, migrations, the first relay write.
        await new Promise((r) => setTimeout(r, 100 + random() * 1200));
        killsDuringStart++;
      } else {
        await child.waitForLog('card reader online');
        // Kill after a random number of swipes and a random few ms more: mid-decision, mid-commit, mid-pulse.
        const target = 50 + Math.floor(random() * 750);
        let sentToThis = 0;
        while (sentToThis < target && sent < SWIPES && child.proc.exitCode === null) {
          // Keep a short backlog so most swipes get decided, yet the kill can land anywhere.
          const backlog = sentToThis - child.count('swipe ');
          if (backlog < 16) {
            // Valid cards no closer than a pulse and a bit, so each grant is its own unlock
            // (pulses within a pulse merge); unknown cards fill the gaps at full speed.
            const grant = Date.now() - lastValidAt > PULSE_MS + 30 && random() < 0.7;
            if (grant) lastValidAt = Date.now();
            const card = grant
              ? VALID[Math.floor(random() * VALID.length)]!
              : UNKNOWN[Math.floor(random() * UNKNOWN.length)]!;
            pty.write(`${card}\r\n`);
            sent++;
            sentToThis++;
          } else {
            await new Promise((r) => setTimeout(r, 1));
          }
          if (sent % 8 === 0) await new Promise((r) => setImmediate(r));
        }
        await new Promise((r) => setTimeout(r, random() * 100));
      }
      await child.kill9();
      kills++;
      if (process.env.DORVAKT_FAULT_DEBUG) process.stderr.write(`kill ${kills}: sent ${sent}\n`);
      decided += child.count('swipe ');
      expect(child.proc.signalCode, 'the child died by our SIGKILL, not by itself').toBe('SIGKILL');
      // A fresh pty pair: bytes in flight belonged to the dead process.
      await pty.unplug();
      await pty.plug();

      const store = checkStore(storePath);
      expect(store.integrity).toBe('ok');
      const unlocks = readUnlocks(relayLog);
      expect(unlocksWithoutEntry(unlocks, store.grantedTs)).toEqual([]);
    }

    // One clean run at the end: the service starts on the store the kills left behind and stops cleanly.
    const last = spawnService(configPath);
    await last.waitForLog('card reader online');
    pty.write(`${VALID[0]}\r\n`);
    await waitFor(() => last.count('swipe ') > 0, 10_000, 'a swipe after the kills');
    expect(await last.stop()).toBe(0);

    const store = checkStore(storePath);
    const unlocks = readUnlocks(relayLog);
    expect(store.integrity).toBe('ok');
    expect(unlocksWithoutEntry(unlocks, store.grantedTs)).toEqual([]);
    expect(unlocks.length).toBeGreaterThan(SWIPES / 200);
    expect(kills).toBeGreaterThan(SWIPES / 1000);
    expect(sent).toBe(SWIPES);
    process.stdout.write(
      `kill -9: seed ${startSeed}, ${kills} kills (${killsDuringStart} during start-up), ${sent} swipes sent, ` +
        `${decided} decided before a kill, ${store.entries} entries stored, ${store.grantedTs.length} granted, ` +
        `${unlocks.length} relay unlocks, all with their entry; integrity_check ok after every kill; ` +
        `${Math.round((Date.now() - started) / 1000)} s\n`,
    );
  });

  it('the check finds an unlock without an entry (it is not vacuous)', () => {
    expect(unlocksWithoutEntry([{ at: 100 }, { at: 200 }], [90])).toEqual([200]);
    expect(unlocksWithoutEntry([{ at: 100 }, { at: 200 }], [90, 150])).toEqual([]);
    // An entry older than the previous unlock cannot explain a later one.
    expect(unlocksWithoutEntry([{ at: 100 }, { at: 200 }], [50, 90])).toEqual([200]);
  });
});
