/** What a swipe reads when a card has rows made here and rows from the fleet. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyRules } from '../../src/fleet-rules/apply.ts';
import { LocalAccessLookup } from '../../src/local-access/facts.ts';
import { LocalBlocks } from '../../src/local-access/blocks.ts';
import { LocalPasses } from '../../src/local-access/passes.ts';
import { openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { rules } from './helpers.ts';

const dir = tempDir('fleet-facts-');
afterAll(() => dir.cleanup());
const CARD = 'e'.repeat(64);
const OTHER = 'f'.repeat(64);
const BOTH = 'd'.repeat(64);

describe('block and pass facts with local and fleet rows', () => {
  const db = openDb(join(dir.path, 'store.sqlite'));
  // Wednesday 2026-12-02 12:00 in Oslo.
  const noon = new Date('2026-12-02T11:00:00.000Z');
  const now = noon.getTime() - 3_600_000;
  const until = new Date(now + 10 * 86_400_000).toISOString();
  new LocalPasses(db, ['front', 'back']).add(
    {
      cardHash: CARD,
      cardHint: '',
      kind: 'cleaner',
      note: 'our cleaner',
      doors: null,
      hours: 'Mo-Fr 06:00-08:00',
      cameraConsent: 'required',
      expiresAt: now + 86_400_000,
    },
    'ada',
    now,
  );
  new LocalBlocks(db, ['front', 'back']).add(
    { cardHash: OTHER, cardHint: '', note: 'back door only', doors: ['back'], expiresAt: now + 86_400_000 },
    'ada',
    now,
  );
  new LocalBlocks(db, ['front', 'back']).add(
    { cardHash: BOTH, cardHint: '', note: 'for a month', doors: null, expiresAt: now + 30 * 86_400_000 },
    'ada',
    now,
  );
  const doc = rules(1, {
    blocks: [
      { card_hash: OTHER, note: 'every door', expires_at: until },
      // Ends before the nightly removal: the local block must still hold after it.
      { card_hash: BOTH, note: 'for an hour', expires_at: new Date(now + 3_600_000).toISOString() },
    ],
    passes: [
      {
        card_hash: CARD,
        kind: 'guard',
        note: 'fleet guard',
        hours: 'Mo-Su 00:00-24:00',
        camera_consent: 'not_required',
        expires_at: until,
      },
    ],
  });
  applyRules(db, 'branch1', doc, { document: '{}', sha256: 'x' }, now);
  const lookup = new LocalAccessLookup(db, 'Europe/Oslo');

  it('the pass made here wins over the fleet’s', () => {
    expect(lookup.factsFor(CARD, 'front', noon).pass).toMatchObject({
      insideHours: false,
      cameraConsentRequired: true,
    });
  });

  it('either block refuses: the fleet’s covers the door the local one does not', () => {
    expect(lookup.factsFor(OTHER, 'front', noon).blocked).toBe(true);
    expect(lookup.factsFor(OTHER, 'back', noon).blocked).toBe(true);
    const later = new Date(now + 2 * 3_600_000);
    expect(lookup.factsFor(BOTH, 'front', later).blocked).toBe(true);
  });
});
