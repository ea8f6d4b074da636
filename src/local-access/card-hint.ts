import { normaliseCard } from '../privacy/card-hash.ts';

/**
 * What an admin sees of a blocked or pass card: its last characters, never the number. Four for a card of
 * ten or more, fewer for short cards, so the hint never gives away more than a third of the number.
 */
export function cardHint(card: string): string {
  const normal = normaliseCard(card);
  const keep = Math.min(4, Math.floor(normal.length / 3));
  return `…${keep > 0 ? normal.slice(-keep) : ''}`;
}
