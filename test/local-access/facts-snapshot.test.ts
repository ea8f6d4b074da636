/**
 * A swipe reads a card's block and pass from one snapshot. The worker applies a fleet document in many small
 * transactions; a block read before one of them and a pass read after it would be a mix that no version of the
 * rules holds. Here another process flips a card between two versions (block and pass; neither) as fast as it
 * can commit, each flip one transaction, while this thread reads the card's facts.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalAccessLookup } from '../../src/local-access/facts.ts';
import { openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('facts-snapshot-');
afterAll(() => dir.cleanup());
const CARD = 'a'.repeat(64);

const FLIPPER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = OFF');
const card = process.argv[2];
const far = Date.now() + 86400000;
const add = db.transaction(() => {
  db.prepare("INSERT INTO local_blocks (card_hash, source, card_hint, note, doors, expires_at, created_by, created_at) VALUES (?, 'local', '', 'b', NULL, ?, 't', 0)").run(card, far);
  db.prepare("INSERT INTO local_passes (card_hash, source, card_hint, kind, note, doors, hours, camera_consent, expires_at, created_by, created_at) VALUES (?, 'local', '', 'cleaner', 'p', NULL, 'Mo-Su 00:00-24:00', 'required', ?, 't', 0)").run(card, far);
});
const drop = db.transaction(() => {
  db.prepare('DELETE FROM local_blocks WHERE card_hash = ?').run(card);
  db.prepare('DELETE FROM local_passes WHERE card_hash = ?').run(card);
});
process.stdout.write('ready\\n');
const until = Date.now() + Number(process.argv[3]);
let flips = 0;
while (Date.now() < until) { (flips % 2 ? drop : add)(); flips++; }
process.stdout.write(flips + '\\n');
`;

describe("a swipe's block and pass come from one snapshot", () => {
  it('never sees one version’s block with another version’s pass while a writer flips them', async () => {
    const path = join(dir.path, 'store.sqlite');
    const door = openDb(path);
    const lookup = new LocalAccessLookup(door, 'Europe/Oslo');
    const flipper = spawn(process.execPath, ['-e', FLIPPER, path, CARD, '1500'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    flipper.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => flipper.once('exit', resolve));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 5));

    const seen = { both: 0, neither: 0, mixed: 0, changes: 0 };
    let last = '';
    let running = true;
    void exited.then(() => {
      running = false;
    });
    const now = new Date();
    while (running) {
      // A stretch of reads, then a turn of the event loop to notice the writer's exit.
      for (let i = 0; i < 2000; i++) {
        const facts = lookup.factsFor(CARD, 'front', now);
        const state =
          facts.blocked && facts.pass ? 'both' : !facts.blocked && !facts.pass ? 'neither' : 'mixed';
        seen[state]++;
        if (state !== last) seen.changes++;
        last = state;
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(await exited).toBe(0);
    door.close();
    // The reads did interleave with the writer's commits, often: a read between two commits could have mixed.
    expect(Number(out.trim().split('\n').at(-1))).toBeGreaterThan(1000);
    expect(seen.changes).toBeGreaterThan(200);
    expect(seen.mixed).toBe(0);
  });
});
