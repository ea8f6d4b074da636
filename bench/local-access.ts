import { join } from 'node:path';
import { EmergencyModes } from '../src/emergency/modes.ts';
import { LocalAccessLookup } from '../src/local-access/facts.ts';
import { cardHasher } from '../src/privacy/card-hash.ts';
import { openDb } from '../src/store/db.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import type { Figures } from './door-loop.ts';

const ROWS = 10_000;
const LOOKUPS = 100_000;

/** What a swipe adds for the block list, passes and emergency mode: the reads the gate makes, on a real file. */
export async function benchLocalAccess(): Promise<Figures> {
  const dir = tempDir('bench-local-access-');
  const db = openDb(join(dir.path, 'store.sqlite'));
  try {
    const hash = cardHasher('bench-local-access-site-key-0123');
    const now = Date.now();
    db.transaction(() => {
      const block = db.prepare(
        "INSERT INTO local_blocks (card_hash, card_hint, note, doors, expires_at, created_by, created_at) VALUES (?, '…', 'bench', NULL, ?, 'bench', ?)",
      );
      const pass = db.prepare(
        "INSERT INTO local_passes (card_hash, card_hint, kind, note, doors, hours, camera_consent, expires_at, created_by, created_at) VALUES (?, '…', 'cleaner', 'bench', '[\"main\"]', 'Mo-Fr 06:00-08:00; Sa 07:00-09:00', 'required', ?, 'bench', ?)",
      );
      for (let i = 0; i < ROWS; i++) {
        block.run(hash(`b${i}`), now + 86_400_000, now);
        pass.run(hash(`p${i}`), now + 86_400_000, now);
      }
    })();
    new EmergencyModes(db).set({ mode: 'everybody', until: now + 3_600_000, reason: 'bench' }, 'bench', now);
    const lookup = new LocalAccessLookup(db, 'Europe/Oslo');
    const emergency = new EmergencyModes(db);
    const cards = Array.from({ length: 1000 }, (_, i) => hash(['b', 'p', 'x'][i % 3]! + ((i * 7) % ROWS)));
    const times: number[] = [];
    for (let i = 0; i < LOOKUPS; i++) {
      const at = new Date();
      const started = performance.now();
      lookup.factsFor(cards[i % cards.length]!, 'main', at);
      emergency.current(at);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const us = (p: number) =>
      `${(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]! * 1000).toFixed(1)} µs`;
    return {
      what: `block + pass + emergency reads per swipe (${ROWS} blocks, ${ROWS} passes, ${LOOKUPS} lookups)`,
      p50: us(50),
      p99: us(99),
      max: us(100),
    };
  } finally {
    db.close();
    dir.cleanup();
  }
}
