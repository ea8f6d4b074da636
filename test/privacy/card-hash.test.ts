import { describe, expect, it } from 'vitest';
import { cardHasher } from '../../src/privacy/card-hash.ts';

// Consents, blocks, passes and entries are keyed by this hash: a release that hashed differently would orphan
// every one of them. The vectors come from OpenSSL (`printf %s CARD | openssl dgst -sha256 -hmac KEY`).
describe('cardHasher', () => {
  it('is HMAC-SHA256 of the normalised card under the site key, as OpenSSL computes it', () => {
    expect(cardHasher('site-key-0123456789abcdef')('10000001')).toBe(
      'afef1062d66eaf8409daa89448ef256ac0a70b76c5557641ca5ac13c408e28bb',
    );
  });

  it('takes the key as UTF-8 and the card trimmed and in capitals', () => {
    expect(cardHasher('nøkkel-for-biblioteket-æøå')(' a1b2c3\n')).toBe(
      'cf510d9817e51788ee3fc4eea63c35c1c0e51b113caab22b2c513ad72aafc6e3',
    );
  });

  it('refuses a key shorter than 16 characters', () => {
    expect(() => cardHasher('short-key')).toThrow(/at least 16/);
  });
});
