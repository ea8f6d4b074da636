import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayLog } from '../../src/door/relay-log.ts';
import { openDb } from '../../src/store/db.ts';
import { journalPathFor, openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { tempDir } from '../helpers/tmp.ts';
import { swipeBookkeeping } from '../helpers/swipe-bookkeeping.ts';

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup();
});

function grant(entries: EntryStore, outcome: 'granted' | 'denied' = 'granted'): number {
  return entries.record(
    swipeBookkeeping({
      ts: Date.now(),
      door: 'front',
      outcome,
      reason: outcome === 'granted' ? 'allow' : 'unknown_card',
    }),
  );
}

describe('RelayLog (the sim door relay record for fault tests)', () => {
  it('records per unlock the highest granted entry committed at that moment, read through its own connection', () => {
    const dir = tempDir('relay-log-');
    dirs.push(dir);
    const storePath = join(dir.path, 'store.sqlite');
    const logPath = join(dir.path, 'relay.log');
    const log = new RelayLog(logPath, storePath);
    log.write(true); // no store yet
    const db = openDb(storePath);
    const journal = openDoorJournal(journalPathFor(storePath));
    const entries = new EntryStore(db, journal);
    log.write(true); // no entry yet
    const first = grant(entries);
    grant(entries, 'denied');
    log.write(true);
    log.write(false);
    // A grant inside a transaction that has not committed is not seen.
    journal.exec('BEGIN');
    const uncommitted = grant(entries);
    log.write(true);
    journal.exec('COMMIT');
    log.write(true);
    // Handed on to the store, it is seen there.
    const later = grant(entries);
    entries.deliver();
    expect(entries.undelivered).toBe(0);
    log.write(true);
    log.close();
    journal.close();
    db.close();
    const lines = readFileSync(logPath, 'utf8').trim().split('\n');
    const pid = process.pid;
    expect(lines.map((l) => l.replace(/^\d+ /, ''))).toEqual([
      `unlock ${pid} -1`,
      `unlock ${pid} 0`,
      `unlock ${pid} ${first}`,
      `lock ${pid}`,
      `unlock ${pid} ${first}`,
      `unlock ${pid} ${uncommitted}`,
      `unlock ${pid} ${later}`,
    ]);
  });

  it('records -1 without a store to read', () => {
    const dir = tempDir('relay-log-');
    dirs.push(dir);
    const logPath = join(dir.path, 'relay.log');
    const log = new RelayLog(logPath, undefined);
    log.write(true);
    log.close();
    expect(readFileSync(logPath, 'utf8')).toMatch(/^\d+ unlock \d+ -1\n$/);
  });
});
