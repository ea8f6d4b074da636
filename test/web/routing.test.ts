import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { MAX_LINE } from '../../src/reader/frames.ts';
import { cardHashFrom, field, fields, type RouteEnv, sessionOf, shortHash } from '../../src/web/routing.ts';

const hashCard = cardHasher('test-site-key-0123456789');
/** Only what cardHashFrom reads: the doors' card patterns and the hasher. */
const envWith = (...patterns: string[]) =>
  ({
    deps: { config: { doors: patterns.map((card_pattern) => ({ reader: { card_pattern } })) }, hashCard },
  }) as unknown as RouteEnv;
// Any printable text up to past the reader's limit: only cardHashFrom's own checks refuse.
const anyCard = envWith(`[ -~]{1,${MAX_LINE + 10}}`);
const HASH = 'ab'.repeat(32);

describe('field: one form or query value', () => {
  it('is empty for a body that is not an object, absent or not text', () => {
    for (const body of [undefined, null, '', 'name=x', 7, true]) expect(field(body, 'name')).toBe('');
    expect(field({}, 'name')).toBe('');
    expect(field({ name: { nested: 'x' } }, 'name')).toBe('');
    // A text body is not a form: its own properties (a string's length) are not fields.
    expect(field('name=x', 'length')).toBe('');
  });
  it('takes the first of repeated values, trims, and cuts to the limit', () => {
    expect(field({ name: [' first ', 'second'] }, 'name')).toBe('first');
    expect(field({ name: 42 }, 'name')).toBe('42');
    // A JSON body's tick box.
    expect(field({ agree: true }, 'agree')).toBe('true');
    expect(field({ name: `  ${'x'.repeat(20)}  ` }, 'name', 5)).toBe('xxxxx');
  });
});

describe('fields: every value of a repeated field', () => {
  it('is empty for a body that is not an object or an absent field', () => {
    for (const body of [undefined, null, '', 7]) expect(fields(body, 'door')).toEqual([]);
    // A string body has indexable characters; it is still no form.
    expect(fields('main', '0')).toEqual([]);
    expect(fields({}, 'door')).toEqual([]);
  });
  it('takes a single value as a list of one, trimmed, and keeps only text from a list', () => {
    expect(fields({ door: ' main ' }, 'door')).toEqual(['main']);
    expect(fields({ door: [' main', 'side ', 3, { x: 1 }, null] }, 'door')).toEqual(['main', 'side']);
    expect(fields({ door: 3 }, 'door')).toEqual([]);
  });
});

describe('cardHashFrom: a typed card or a carried-over hash', () => {
  it('takes a 64-hex hash as it is, upper case lowered, without hashing it again', () => {
    expect(cardHashFrom(anyCard, { card_hash: HASH })).toEqual({ hash: HASH });
    expect(cardHashFrom(anyCard, { card_hash: HASH.toUpperCase() })).toEqual({ hash: HASH });
    // A hash that is not one falls back to the card field.
    expect(cardHashFrom(anyCard, { card_hash: HASH.slice(1), card: '12345678' })).toEqual({
      hash: hashCard('12345678'),
    });
    expect(cardHashFrom(anyCard, { card_hash: `${HASH.slice(1)}g` })).toEqual({ refused: 'common.invalid' });
  });

  it('hashes a typed card a door accepts, up to the reader limit exactly', () => {
    expect(cardHashFrom(anyCard, { card: ' 12345678 ' })).toEqual({ hash: hashCard('12345678') });
    const longest = '7'.repeat(MAX_LINE);
    expect(cardHashFrom(anyCard, { card: longest })).toEqual({ hash: hashCard(longest) });
  });

  it('refuses an absent, empty, over-long or non-printable card as invalid', () => {
    for (const body of [undefined, 'card=1234', {}, { card: '' }, { card: '   ' }])
      expect(cardHashFrom(anyCard, body), JSON.stringify(body)).toEqual({ refused: 'common.invalid' });
    expect(cardHashFrom(anyCard, { card: '7'.repeat(MAX_LINE + 1) })).toEqual({ refused: 'common.invalid' });
    for (const card of ['\x071234', '1234\x07', '12\x0034', '12\u00e934'])
      expect(cardHashFrom(anyCard, { card }), JSON.stringify(card)).toEqual({ refused: 'common.invalid' });
  });

  it("refuses a card no door's reader format accepts", () => {
    const digits = envWith('[0-9]{8}', '[A-F]{4}');
    expect(cardHashFrom(digits, { card: '1234567' })).toEqual({ refused: 'common.card_no_door' });
    expect(cardHashFrom(digits, { card: '12345678' })).toEqual({ hash: hashCard('12345678') });
    // Either door will do, and the upper-case form (the one hashed) counts.
    expect(cardHashFrom(digits, { card: 'abcd' })).toEqual({ hash: hashCard('ABCD') });
  });
});

describe('shortHash and sessionOf', () => {
  it('shows the first twelve characters of a hash and an ellipsis', () => {
    expect(shortHash(HASH)).toBe(`${HASH.slice(0, 12)}…`);
  });
  it('throws, saying why, on a request without a session', () => {
    expect(() => sessionOf({ dorvaktSession: undefined } as FastifyRequest)).toThrow(
      'no session on an authenticated route',
    );
  });
});
