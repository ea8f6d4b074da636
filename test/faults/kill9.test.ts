import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../src/store/door-journal.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { mutantCli, PULSE_BEFORE_COMMIT } from './mutant.ts';
import { childrenOf, processGone } from '../helpers/processes.ts';
import { RelayLogTail, relayFaults } from './relay-log-tail.ts';
import { type ServiceChild, seedPatrons, spawnService, writeFaultConfig } from './service-child.ts';

/**
 * kill -9 of the real CLI while patrons swipe over a real pty, grants being the bulk of the swipes. The
 * sim door appends + fsyncs a line per relay write, and for each unlock the highest granted entry id
 * committed at that moment, read through its own read-only connection to the store (an outside witness).
 * Most kills land at once after the test sees an unlock; some mid-swipe, some during start-up. After
 * every kill: integrity_check is ok, every unlock has its granted entry and that entry was committed
 * before the relay moved, and the worker process is gone too.
 */
const GRANTS = Number(process.env.DORVAKT_KILL9_GRANTS ?? 400);
const PULSE_MS = 100;
const ACK_MS = 10_000;
// Start-up forks the schedule compiler and the worker; on a loaded machine that is slow.
const START_MS = 60_000;
const VALID = Array.from({ length: 40 }, (_, i) => String(10_000_001 + i));
const UNKNOWN = Array.from({ length: 20 }, (_, i) => String(90_000_001 + i));

let seed = Number(process.env.DORVAKT_FAULT_SEED ?? Date.now() % 1_000_000);
/** A small seeded PRNG, so a failing run can be repeated (the seed is printed). */
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
}
const pick = (cards: string[]) => cards[Math.floor(random() * cards.length)]!;

function checkStore(
  storePath: string,
  afterId: number,
): { integrity: string; grantedIds: number[]; entries: number; lastId: number } {
  // A swipe commits to the door's journal and is handed on to the store after the relay: a kill can leave it in
  // the journal, or in both files when it came between the store's commit and the journal's delete (the next
  // start hands it on, once).
  const files = [storePath, journalPathFor(storePath)].filter((path) => existsSync(path));
  const all = files.map((path) => {
    const db = new Database(path, { readonly: true });
    try {
      return {
        integrity: db.pragma('integrity_check', { simple: true }) as string,
        granted: db
          .prepare("SELECT id FROM entries WHERE outcome = 'granted' AND id > ? ORDER BY id")
          .pluck()
          .all(afterId) as number[],
        ids: db.prepare('SELECT id FROM entries').pluck().all() as number[],
      };
    } finally {
      db.close();
    }
  });
  const ids = [...new Set(all.flatMap((f) => f.ids))];
  return {
    integrity: all.every((f) => f.integrity === 'ok') ? 'ok' : all.map((f) => f.integrity).join('; '),
    grantedIds: [...new Set(all.flatMap((f) => f.granted))].sort((a, b) => a - b),
    entries: ids.length,
    lastId: Math.max(0, ...ids),
  };
}

/** The worker (and any other child) the service started: from its log and from /proc. */
function workerPids(child: ServiceChild): Set<number> {
  const pids = new Set(childrenOf(child.proc.pid!));
  for (const line of child.logs)
    if (line.msg === 'worker ready' && typeof line.pid === 'number') pids.add(line.pid);
  return pids;
}

describe('kill -9 right after grants', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let configPath: string;
  let relay: RelayLogTail;
  let storePath: string;
  // Killed in afterAll if a failed assertion left one running.
  const children: ServiceChild[] = [];
  const start = (config: string, command?: string[]) => {
    const child = spawnService(config, {}, command);
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir('kill9-');
    const relayLog = join(dir.path, 'relay.log');
    relay = new RelayLogTail(relayLog);
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
    for (const child of children) await child.kill9();
    relay?.close();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  /** Sends a granting card and resolves on its unlock in the relay log (waits for the relock first). */
  async function grantAndAwaitUnlock(pid: number, tail = relay): Promise<void> {
    await tail.until(() => tail.lockedFor(pid), ACK_MS, 'the relock before a grant');
    const before = tail.unlocksOf(pid).length;
    pty.write(`${pick(VALID)}\r\n`);
    await tail.until(() => tail.unlocksOf(pid).length > before, ACK_MS, 'the unlock of a grant');
  }

  /** After a process is gone: the store and the relay log agree for everything it did. */
  function checkRun(pid: number, afterId: number) {
    const store = checkStore(storePath, afterId);
    expect(store.integrity).toBe('ok');
    const witnessed = relay.unlocksOf(pid).map((u) => u.committedGrant);
    expect(relayFaults(witnessed, store.grantedIds)).toEqual([]);
    return { ...store, unlocks: witnessed.length };
  }

  it('every unlock had its granted entry committed before the relay moved; the store is intact after every kill', async () => {
    const startSeed = seed;
    const started = Date.now();
    const kills = { afterUnlock: 0, midSwipe: 0, duringStart: 0 };
    let grantsSent = 0;
    let deniedSent = 0;
    let unlocksChecked = 0;
    let workersGone = 0;
    let lastId = checkStore(storePath, 0).lastId;

    while (grantsSent < GRANTS) {
      const child = start(configPath);
      const pid = child.proc.pid!;
      if (random() < 0.1) {
        // Somewhere in start-up: opening the store, migrations, the first relay write, forking the worker.
        await new Promise((r) => setTimeout(r, 100 + random() * 1200));
        kills.duringStart++;
      } else {
        await child.waitForLog('card reader online', START_MS);
        const grants = 10 + Math.floor(random() * 40);
        for (let g = 1; g < grants && grantsSent < GRANTS; g++) {
          await grantAndAwaitUnlock(pid);
          grantsSent++;
          // Unknown cards during the pulse: denied swipes decided between the grants.
          for (let d = Math.floor(random() * 3); d > 0; d--, deniedSent++) pty.write(`${pick(UNKNOWN)}\r\n`);
        }
        grantsSent++;
        if (random() < 0.75) {
          // At once after the relay write: the commit before it must already be durable.
          await grantAndAwaitUnlock(pid);
          kills.afterUnlock++;
        } else {
          // Mid-swipe: deciding, committing or pulsing.
          await relay.until(() => relay.lockedFor(pid), ACK_MS, 'the relock before a grant');
          pty.write(`${pick(VALID)}\r\n`);
          await new Promise((r) => setTimeout(r, random() * 3));
          kills.midSwipe++;
        }
      }
      const workers = workerPids(child);
      await child.kill9();
      expect(child.proc.signalCode, 'the child died by our SIGKILL, not by itself').toBe('SIGKILL');
      // The worker exits when its channel to the door process closes: no orphan keeps running.
      await waitFor(() => [...workers].every(processGone), 10_000, `worker ${[...workers]} to exit`);
      workersGone += workers.size;
      // A fresh pty pair: bytes in flight belonged to the dead process.
      await pty.unplug();
      await pty.plug();

      const run = checkRun(pid, lastId);
      unlocksChecked += run.unlocks;
      lastId = run.lastId;
      if (process.env.DORVAKT_FAULT_DEBUG)
        process.stderr.write(`kill: ${run.unlocks} unlocks, ${run.grantedIds.length} granted\n`);
    }

    // One clean run at the end: the service starts on the store the kills left behind and stops cleanly.
    const last = start(configPath);
    await last.waitForLog('card reader online', START_MS);
    await grantAndAwaitUnlock(last.proc.pid!);
    const workers = workerPids(last);
    expect(await last.stop()).toBe(0);
    await waitFor(() => [...workers].every(processGone), 10_000, 'the worker to exit');
    const run = checkRun(last.proc.pid!, lastId);
    unlocksChecked += run.unlocks;
    // What the kills left in the door's journal was handed on to the store by the later starts and the clean stop.
    const journal = new Database(journalPathFor(storePath), { readonly: true });
    try {
      expect(journal.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(0);
    } finally {
      journal.close();
    }

    const killCount = kills.afterUnlock + kills.midSwipe + kills.duringStart;
    expect(killCount).toBeGreaterThan(GRANTS / 50);
    expect(unlocksChecked).toBeGreaterThan(GRANTS * 0.9);
    expect(workersGone).toBeGreaterThan(killCount / 2);
    process.stdout.write(
      `kill -9: seed ${startSeed}, ${killCount} kills (${kills.afterUnlock} at once after an unlock, ` +
        `${kills.midSwipe} mid-swipe, ${kills.duringStart} during start-up), ${grantsSent} grants and ` +
        `${deniedSent} denied swipes sent, ${run.entries} entries stored, ${unlocksChecked} relay unlocks ` +
        `each with its entry committed before the write; integrity_check ok and the worker gone after ` +
        `every kill; ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
  });

  it('fails against the bug it guards: a relay pulsed before its commit', async () => {
    const mutantDir = join(dir.path, 'pulse-before-commit');
    mkdirSync(mutantDir);
    const cli = mutantCli(mutantDir, PULSE_BEFORE_COMMIT);
    const mutantLog = join(mutantDir, 'relay.log');
    const tail = new RelayLogTail(mutantLog);
    const mutantStore = join(mutantDir, 'store.sqlite');
    const mutantConfig = writeFaultConfig({
      dir: mutantDir,
      readerPath: pty.devicePath,
      mqttUrl: broker.url,
      relayLog: mutantLog,
      pulseMs: PULSE_MS,
    });
    seedPatrons(mutantStore, VALID);
    const child = start(mutantConfig, [cli]);
    try {
      await child.waitForLog('card reader online', START_MS);
      for (let i = 0; i < 3; i++) await grantAndAwaitUnlock(child.proc.pid!, tail);
      await child.kill9();
      const witnessed = tail.unlocksOf(child.proc.pid!).map((u) => u.committedGrant);
      const faults = relayFaults(witnessed, checkStore(mutantStore, 0).grantedIds);
      // Every unlock is ahead of its commit, or (killed in between) has no entry at all.
      expect(witnessed).toHaveLength(3);
      expect(faults).toHaveLength(3);
      expect(faults[0]).toContain('the relay moved while the latest committed grant was');
    } finally {
      await child.kill9();
      tail.close();
      await pty.unplug();
      await pty.plug();
    }
  });

  it('the check finds an unlock ahead of its commit, or without an entry (it is not vacuous)', () => {
    expect(relayFaults([5, 7], [5, 7])).toEqual([]);
    // Pulsed before the commit: the witness saw only the previous grant.
    expect(relayFaults([3, 5], [5, 7])).toHaveLength(2);
    expect(relayFaults([5, 7, 7], [5, 7])).toEqual(['unlock 3: no committed granted entry']);
  });
});
