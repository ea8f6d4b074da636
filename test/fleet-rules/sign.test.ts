import { sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRules } from '../../src/fleet-rules/document.ts';
import { signRules, verifyRules } from '../../src/fleet-rules/sign.ts';
import { fleetKeys, inDays, rules } from './helpers.ts';

const HASH = 'a'.repeat(64);
const keys = fleetKeys();
const doc = rules(3, { blocks: [{ card_hash: HASH, note: 'lost card', expires_at: inDays(30) }] });

describe('signing and checking the fleet rules', () => {
  it('a document signed with the fleet key verifies, and reads back as signed', () => {
    const signed = signRules(doc, keys.privateKey);
    const checked = verifyRules(JSON.stringify(signed), keys.publicKey);
    expect(checked.ok && checked.rules).toEqual(doc);
  });

  it('refuses unsigned, wrongly signed, tampered, malformed and signed-but-invalid documents', () => {
    const signed = signRules(doc, keys.privateKey);
    expect(verifyRules(JSON.stringify({ v: 1, rules: signed.rules }), keys.publicKey)).toMatchObject({
      why: 'unsigned',
    });
    expect(verifyRules(JSON.stringify(doc), keys.publicKey)).toMatchObject({ why: 'unsigned' });
    const other = signRules(doc, fleetKeys().privateKey);
    expect(verifyRules(JSON.stringify(other), keys.publicKey)).toMatchObject({ why: 'bad_signature' });
    const tampered = { ...signed, rules: signed.rules.replace('lost card', 'lost cart') };
    expect(verifyRules(JSON.stringify(tampered), keys.publicKey)).toMatchObject({ why: 'bad_signature' });
    expect(verifyRules('not json', keys.publicKey)).toMatchObject({ why: 'malformed' });
    expect(verifyRules(JSON.stringify({ ...signed, extra: 1 }), keys.publicKey)).toMatchObject({
      why: 'malformed',
    });
    // Signed by the right key around a document no branch may apply (a raw card number, not a hash).
    const bad = JSON.stringify({
      ...doc,
      blocks: [{ card_hash: '12345678', note: 'x y z', expires_at: inDays(1) }],
    });
    const badSigned = {
      v: 1,
      rules: bad,
      signature: sign(null, Buffer.from(bad), keys.privateKey).toString('base64'),
    };
    expect(verifyRules(JSON.stringify(badSigned), keys.publicKey)).toMatchObject({ why: 'invalid' });
  });

  it('signRules refuses to sign a document the branches would refuse', () => {
    expect(() => signRules({ ...doc, version: 0 }, keys.privateKey)).toThrow(/version/);
    expect(() =>
      signRules(rules(1, { exceptions: [{ date: '2026-02-30', closed: true }] }), keys.privateKey),
    ).toThrow(/does not exist/);
    expect(() =>
      signRules(
        rules(1, { exceptions: [{ date: '2026-12-24', closed: true, staffless: '10:00-12:00' }] }),
        keys.privateKey,
      ),
    ).toThrow();
    expect(() =>
      signRules(
        rules(1, { exceptions: [{ date: '2026-12-24', staffless: 'Mo-Fr 10:00-12:00' }] }),
        keys.privateKey,
      ),
    ).toThrow();
  });

  it('checks exception dates, hours and duplicates', () => {
    expect(
      checkRules(rules(1, { exceptions: [{ date: '2026-12-24', staffless: '10:00-14:00,16:00-18:00' }] })).ok,
    ).toBe(true);
    expect(
      checkRules(
        rules(1, {
          exceptions: [
            { date: '2026-12-24', closed: true },
            { date: '2026-12-24', staffless: '10:00-12:00' },
          ],
        }),
      ).ok,
    ).toBe(false);
  });

  it('property: a byte changed anywhere in a signed payload never verifies as a document', () => {
    const text = JSON.stringify(signRules(doc, keys.privateKey));
    fc.assert(
      fc.property(fc.nat({ max: text.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bytes = Buffer.from(text);
        bytes[at % bytes.length]! ^= flip;
        const checked = verifyRules(bytes, keys.publicKey);
        // Either refused, or (a change inside whitespace-free JSON that still parses identically) the same document.
        if (checked.ok) expect(checked.rules).toEqual(doc);
      }),
      { numRuns: 300 },
    );
  });
});
