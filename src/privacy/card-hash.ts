import { createHmac, createSecretKey } from 'node:crypto';

/** Card numbers are never stored; this keyed hash is the only patron key Dørvakt keeps. */
export type CardHasher = (card: string) => string;

export function normaliseCard(card: string): string {
  return card.trim().toUpperCase();
}

export function cardHasher(siteKey: string): CardHasher {
  if (siteKey.length < 16) throw new Error('card HMAC key must be at least 16 characters');
  // A key object made once: a string key is turned into one on every call, on the swipe's path.
  const key = createSecretKey(Buffer.from(siteKey, 'utf8'));
  return (card) => createHmac('sha256', key).update(normaliseCard(card)).digest('hex');
}
