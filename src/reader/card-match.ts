/** Whether a card typed by a person (dashboard, CLI) is one a door here would accept from its reader. */
import { normaliseCard } from '../privacy/card-hash.ts';
import { compileCardPattern } from './frames.ts';

export interface DoorCardPattern {
  reader: { card_pattern: string };
}

/** Whole-string match against at least one door's card_pattern, as typed or in the form that is hashed. */
export function cardMatchesADoor(doors: readonly DoorCardPattern[], card: string): boolean {
  const forms = [card, normaliseCard(card)];
  return doors.some((d) => {
    const pattern = compileCardPattern(d.reader.card_pattern);
    return forms.some((f) => pattern.test(f));
  });
}
