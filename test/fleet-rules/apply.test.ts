/** The branch's copy of the fleet's rules: fleet rows beside local ones, and exceptions merged into the schedule. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { applyRules } from '../../src/fleet-rules/apply.ts';
import { withFleetExceptions } from '../../src/fleet-rules/exceptions.ts';
import { LocalBlocks } from '../../src/local-access/blocks.ts';
import { LocalPasses } from '../../src/local-access/passes.ts';
import { openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { rules } from './helpers.ts';

const dir = tempDir('fleet-apply-');
afterAll(() => dir.cleanup());
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const L = 'c'.repeat(64);
const day = (n: number) => new Date(Date.UTC(2027, 0, n)).toISOString();

describe('applying a fleet document', () => {
  const db = openDb(join(dir.path, 'store.sqlite'));
  const NOW = Date.UTC(2026, 11, 1);
  new LocalBlocks(db, ['front']).add(
    { cardHash: A, cardHint: '1111', note: 'made here', doors: ['front'], expiresAt: NOW + 86_400_000 },
    'ada',
    NOW,
  );
  new LocalPasses(db, ['front']).add(
    {
      cardHash: L,
      cardHint: '2222',
      kind: 'cleaner',
      note: 'our cleaner',
      doors: null,
      hours: 'Mo-Fr 06:00-08:00',
      cameraConsent: 'required',
      expiresAt: NOW + 86_400_000,
    },
    'ada',
    NOW,
  );
  const rows = (table: string) =>
    db
      .prepare(
        `SELECT card_hash, source, note, expires_at, created_by FROM ${table} ORDER BY card_hash, source`,
      )
      .all();
  const apply = (doc: ReturnType<typeof rules>, at = NOW) =>
    applyRules(db, 'branch1', doc, { document: JSON.stringify(doc), sha256: String(doc.version) }, at);

  it('adds, changes and removes fleet rows only; local ones stay; other sites and expired items are left out', () => {
    apply(
      rules(1, {
        blocks: [
          { card_hash: A, note: 'fleet block', expires_at: day(10) },
          { card_hash: B, note: 'other branch', expires_at: day(10), sites: ['branch2'] },
          { card_hash: B, note: 'long gone', expires_at: '2020-01-01T00:00:00.000Z' },
        ],
        passes: [
          {
            card_hash: L,
            kind: 'guard',
            note: 'fleet guard',
            hours: 'Mo-Su 00:00-24:00',
            camera_consent: 'not_required',
            expires_at: day(10),
          },
        ],
      }),
    );
    expect(rows('local_blocks')).toEqual([
      {
        card_hash: A,
        source: 'fleet',
        note: 'fleet block',
        expires_at: Date.parse(day(10)),
        created_by: 'fleet:v1',
      },
      { card_hash: A, source: 'local', note: 'made here', expires_at: NOW + 86_400_000, created_by: 'ada' },
    ]);
    expect(rows('local_passes').map((r) => (r as { source: string }).source)).toEqual(['fleet', 'local']);

    apply(
      rules(2, {
        blocks: [
          { card_hash: A, note: 'fleet block', expires_at: day(20) },
          { card_hash: B, note: 'new one', expires_at: day(10) },
        ],
      }),
    );
    expect(rows('local_blocks')).toEqual([
      {
        card_hash: A,
        source: 'fleet',
        note: 'fleet block',
        expires_at: Date.parse(day(20)),
        created_by: 'fleet:v2',
      },
      { card_hash: A, source: 'local', note: 'made here', expires_at: NOW + 86_400_000, created_by: 'ada' },
      {
        card_hash: B,
        source: 'fleet',
        note: 'new one',
        expires_at: Date.parse(day(10)),
        created_by: 'fleet:v2',
      },
    ]);
    expect(rows('local_passes').map((r) => (r as { source: string }).source)).toEqual(['local']);

    // Unchanged rows keep the version that made them.
    apply(rules(3, { blocks: [{ card_hash: B, note: 'new one', expires_at: day(10) }] }));
    expect(rows('local_blocks')).toEqual([
      { card_hash: A, source: 'local', note: 'made here', expires_at: NOW + 86_400_000, created_by: 'ada' },
      {
        card_hash: B,
        source: 'fleet',
        note: 'new one',
        expires_at: Date.parse(day(10)),
        created_by: 'fleet:v2',
      },
    ]);
    // The dashboard's and the CLI's view: local rows only.
    expect(new LocalBlocks(db, ['front']).list().map((b) => b.cardHash)).toEqual([A]);
    expect(new LocalBlocks(db, ['front']).find(B)).toBeUndefined();
    expect(new LocalBlocks(db, ['front']).remove(B, 'ada', 'try')).toBe(false);
  });

  it('merges exceptions: this site and door only, and the branch’s own exception wins on its date', () => {
    const config = parseConfig(`
site: { id: branch1 }
secrets: { card_hmac_key: { env: X } }
doors:
  - id: front
    schedule: { staffless: "Mo-Su 08:00-22:00", exceptions: [{ date: "2026-12-24", staffless: "08:00-12:00" }] }
    reader: { path: /dev/null }
  - id: back
    schedule: { staffless: "Mo-Su 08:00-22:00" }
    reader: { path: /dev/null }
`);
    const doc = rules(1, {
      exceptions: [
        { date: '2026-12-24', closed: true },
        { date: '2026-12-27', closed: true, note: 'staff day' },
        { date: '2026-12-30', staffless: '10:00-16:00', doors: ['back'] },
        { date: '2026-12-31', closed: true, sites: ['branch2'] },
      ],
    });
    const merged = withFleetExceptions(config.doors, 'branch1', doc.exceptions);
    expect(merged[0]!.schedule.exceptions).toEqual([
      { date: '2026-12-24', staffless: '08:00-12:00' },
      { date: '2026-12-27', closed: true, note: 'fleet: staff day' },
    ]);
    expect(merged[1]!.schedule.exceptions).toEqual([
      { date: '2026-12-24', closed: true, note: 'fleet' },
      { date: '2026-12-27', closed: true, note: 'fleet: staff day' },
      { date: '2026-12-30', staffless: '10:00-16:00', note: 'fleet' },
    ]);
    expect(withFleetExceptions(config.doors, 'branch1', undefined)[1]!.schedule.exceptions).toEqual([]);
  });
});
