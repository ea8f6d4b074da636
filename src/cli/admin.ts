import { parseArgs } from 'node:util';
import { Consents } from '../consent/consents.ts';
import { LocalPatronSource } from '../patrons/local-registry.ts';
import type { CardHasher } from '../privacy/card-hash.ts';
import { cardMatchesADoor, type DoorCardPattern } from '../reader/card-match.ts';
import type { Db } from '../store/db.ts';

export const ADMIN_USAGE = `usage:
  dorvakt consent sign --card CARD|- --kind agreement|camera --version V [--date YYYY-MM-DD] --config FILE
  dorvakt consent withdraw --card CARD|- --kind agreement|camera [--reason TEXT] --config FILE
  dorvakt consent status --card CARD|- --config FILE
  dorvakt patron add --card CARD|- [--category C] [--birth-year YYYY] [--blocked] [--lost] --config FILE
      (the local registry, for sites without SIP2)
  CARD '-' reads the card number from stdin, so it stays out of shell history.
`;

export interface AdminDeps {
  db: Db;
  hashCard: CardHasher;
  /** The doors' readers: a card none of them would accept is refused (a typo, or a staff number). */
  doors: readonly DoorCardPattern[];
  actor: string;
  today: () => string;
  readStdin: () => string;
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

/** `dorvakt consent …` and `dorvakt patron …`: what the desk registers; everything audited by the repositories. */
export function runAdminCommand(argv: string[], deps: AdminDeps): number {
  const [area, action, ...rest] = argv;
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      strict: true,
      options: {
        card: { type: 'string' },
        kind: { type: 'string' },
        version: { type: 'string' },
        date: { type: 'string' },
        reason: { type: 'string' },
        category: { type: 'string' },
        'birth-year': { type: 'string' },
        blocked: { type: 'boolean' },
        lost: { type: 'boolean' },
      },
    }).values;
  } catch (error) {
    deps.err.write(`${(error as Error).message}\n${ADMIN_USAGE}`);
    return 2;
  }
  let card = typeof values.card === 'string' ? values.card : undefined;
  if (card === '-') card = deps.readStdin().split(/\r?\n/)[0]?.trim();
  if (!card) {
    deps.err.write(`--card is required\n${ADMIN_USAGE}`);
    return 2;
  }
  if (!cardMatchesADoor(deps.doors, card)) {
    deps.err.write('no door here accepts this card number (checked against each reader card_pattern)\n');
    return 2;
  }
  const hash = deps.hashCard(card);

  if (area === 'consent') {
    const consents = new Consents(deps.db);
    if (action === 'status') {
      deps.out.write(`${JSON.stringify(consents.status(hash))}\n`);
      return 0;
    }
    const kind = values.kind;
    if (kind !== 'agreement' && kind !== 'camera') {
      deps.err.write(`--kind must be agreement or camera\n${ADMIN_USAGE}`);
      return 2;
    }
    if (action === 'sign') {
      if (typeof values.version !== 'string' || !values.version) {
        deps.err.write(`--version is required (the agreement or consent text's version)\n`);
        return 2;
      }
      const date = typeof values.date === 'string' ? values.date : deps.today();
      const signedAt = Date.parse(`${date}T12:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(signedAt)) {
        deps.err.write(`--date must be YYYY-MM-DD\n`);
        return 2;
      }
      consents.sign(hash, kind, values.version, signedAt, deps.actor);
      deps.out.write(`${kind} signed (version ${values.version})\n`);
      return 0;
    }
    if (action === 'withdraw') {
      consents.withdraw(
        hash,
        kind,
        Date.now(),
        deps.actor,
        typeof values.reason === 'string' ? values.reason : undefined,
      );
      deps.out.write(`${kind} withdrawn: the next swipe is refused\n`);
      return 0;
    }
  }
  if (area === 'patron' && action === 'add') {
    const birthYear = typeof values['birth-year'] === 'string' ? Number(values['birth-year']) : null;
    if (birthYear !== null && !(Number.isInteger(birthYear) && birthYear > 1900 && birthYear < 2100)) {
      deps.err.write('--birth-year must be a year\n');
      return 2;
    }
    new LocalPatronSource(deps.db, deps.hashCard, deps.today).put(card, {
      category: typeof values.category === 'string' ? values.category : null,
      birthYear,
      blocked: values.blocked === true,
      cardLost: values.lost === true,
    });
    deps.out.write('patron registered\n');
    return 0;
  }
  deps.err.write(ADMIN_USAGE);
  return 2;
}
