/**
 * Whatever arrives on the rules topic without the fleet's valid signature over a newer version changes
 * nothing: not the blocks, not the passes, not the document kept for restarts.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import type { FleetRules } from '../../src/fleet-rules/document.ts';
import { FleetRulesReceiver } from '../../src/fleet-rules/receiver.ts';
import { signRules } from '../../src/fleet-rules/sign.ts';
import { LocalBlocks } from '../../src/local-access/blocks.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fleetKeys, inDays, rules } from './helpers.ts';

const dir = tempDir('fleet-prop-');
afterAll(() => dir.cleanup());

const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
const docArb = (minVersion: number): fc.Arbitrary<FleetRules> =>
  fc.record({
    version: fc.integer({ min: minVersion, max: 1_000_000 }),
    issued_at: fc.constant(new Date().toISOString()),
    blocks: fc.array(
      fc.record({
        card_hash: hex64,
        note: fc.constant('from the centre'),
        expires_at: fc.constant(inDays(10)),
      }),
      { maxLength: 3 },
    ),
    passes: fc.constant([]),
    exceptions: fc.constant([]),
  });

describe('fleet rules receiver: no valid signature, no change', () => {
  const keys = fleetKeys();
  const stranger = fleetKeys();
  const db = openDb(join(dir.path, 'store.sqlite'));
  const bus = new EventBus();
  const log = createLogger('silent');
  const alarms = new Alarms(db, bus, log);
  const rejected: string[] = [];
  const receiver = new FleetRulesReceiver({
    db,
    site: 'hoved',
    publicKey: keys.publicKey,
    alarms,
    log,
    onRejected: (why) => rejected.push(why),
  });
  new LocalBlocks(db, ['front']).add(
    {
      cardHash: 'b'.repeat(64),
      cardHint: '1234',
      note: 'made here',
      doors: null,
      expiresAt: Date.now() + 86_400_000,
    },
    'ada',
  );
  const first = rules(5, {
    blocks: [{ card_hash: 'c'.repeat(64), note: 'from the centre', expires_at: inDays(10) }],
  });
  const applied = receiver.receive(Buffer.from(JSON.stringify(signRules(first, keys.privateKey))));
  const snapshot = () => ({
    blocks: db.prepare('SELECT * FROM local_blocks ORDER BY card_hash, source').all(),
    passes: db.prepare('SELECT * FROM local_passes ORDER BY card_hash, source').all(),
    rules: db.prepare('SELECT version, sha256, document, exceptions FROM fleet_rules').all(),
  });

  it('applies a valid first document (the baseline)', async () => {
    expect(await applied).toMatchObject({ version: 5 });
    expect(snapshot().blocks).toHaveLength(2);
  });

  it('property: random bytes, JSON, unsigned, stranger-signed, tampered or not-newer documents change nothing', async () => {
    const before = snapshot();
    const payload = fc.oneof(
      fc.string().map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
      docArb(6).map((d) => Buffer.from(JSON.stringify(d))),
      docArb(6).map((d) => Buffer.from(JSON.stringify({ v: 1, rules: JSON.stringify(d) }))),
      docArb(6).map((d) => Buffer.from(JSON.stringify(signRules(d, stranger.privateKey)))),
      fc.tuple(docArb(6), hex64).map(([d, other]) => {
        const signed = signRules(d, keys.privateKey);
        const body = JSON.parse(signed.rules) as FleetRules;
        body.blocks.push({ card_hash: other, note: 'smuggled in', expires_at: inDays(5) });
        return Buffer.from(JSON.stringify({ ...signed, rules: JSON.stringify(body) }));
      }),
      fc
        .integer({ min: 1, max: 5 })
        .chain((version) =>
          docArb(1).map((d) => Buffer.from(JSON.stringify(signRules({ ...d, version }, keys.privateKey)))),
        ),
    );
    await fc.assert(
      fc.asyncProperty(payload, async (bytes) => {
        const outcome = await receiver.receive(bytes);
        expect(outcome).toHaveProperty('rejected');
        expect(snapshot()).toEqual(before);
      }),
      { numRuns: 400 },
    );
    expect(alarms.isActive('fleet_rules_rejected')).toBe(true);
    expect(new Set(rejected)).toEqual(new Set(['malformed', 'unsigned', 'bad_signature', 'stale']));
  });
});
