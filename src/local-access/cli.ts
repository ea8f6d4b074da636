import { parseArgs } from 'node:util';
import type { CardHasher } from '../privacy/card-hash.ts';
import { cardMatchesADoor, type DoorCardPattern } from '../reader/card-match.ts';
import type { Db } from '../store/db.ts';
import { LocalAccessError, LocalBlocks } from './blocks.ts';
import { cardHint } from './card-hint.ts';
import { endOfLocalDay } from './expiry.ts';
import { PASS_KINDS, type PassCameraConsent, type PassKind, LocalPasses } from './passes.ts';

export const LOCAL_ACCESS_USAGE = `usage:
  dorvakt block add --card CARD|- --note TEXT --expires YYYY-MM-DD [--door ID]… --config FILE
  dorvakt block list --config FILE
  dorvakt block remove (--card CARD|- | --hash HASH) [--reason TEXT] --config FILE
  dorvakt pass add --card CARD|- --kind ${PASS_KINDS.join('|')} --note TEXT --hours "Mo-Fr 06:00-08:00"
                   --expires YYYY-MM-DD [--door ID]… [--camera-consent required|not_required] --config FILE
  dorvakt pass list --config FILE
  dorvakt pass remove (--card CARD|- | --hash HASH) [--reason TEXT] --config FILE
  Without --door: every door. --expires: the last day it holds (site time zone). CARD '-' reads stdin.
  A pass opens only its doors, in its own hours, without the library system (docs/local-access.md).
`;

export interface LocalAccessCliDeps {
  db: Db;
  hashCard: CardHasher;
  doors: readonly (DoorCardPattern & { id: string })[];
  timezone: string;
  actor: string;
  readStdin: () => string;
  now?: () => number;
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

/** `dorvakt block …` and `dorvakt pass …`; the repositories audit every change. */
export function runLocalAccessCommand(argv: string[], deps: LocalAccessCliDeps): number {
  const [area, action, ...rest] = argv;
  const fail = (why: string) => {
    deps.err.write(`${why}\n`);
    return 2;
  };
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      strict: true,
      options: {
        card: { type: 'string' },
        hash: { type: 'string' },
        note: { type: 'string' },
        reason: { type: 'string' },
        expires: { type: 'string' },
        door: { type: 'string', multiple: true },
        kind: { type: 'string' },
        hours: { type: 'string' },
        'camera-consent': { type: 'string' },
      },
    }).values;
  } catch (error) {
    return fail(`${(error as Error).message}\n${LOCAL_ACCESS_USAGE}`);
  }
  const now = deps.now?.() ?? Date.now();
  const doorIds = deps.doors.map((d) => d.id);
  const blocks = new LocalBlocks(deps.db, doorIds);
  const passes = new LocalPasses(deps.db, doorIds);
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

  const card = (): { card?: string; hash: string } | string => {
    const hash = text('hash');
    if (hash !== undefined)
      return /^[0-9a-f]{64}$/.test(hash) ? { hash } : '--hash must be a 64-character card hash';
    let number = text('card');
    if (number === '-') number = deps.readStdin().split(/\r?\n/)[0]?.trim();
    if (!number) return '--card is required';
    if (!cardMatchesADoor(deps.doors, number))
      return 'no door here accepts this card number (checked against each reader card_pattern)';
    return { card: number, hash: deps.hashCard(number) };
  };
  const expiry = (): number | string => {
    const date = text('expires');
    const at = date ? endOfLocalDay(date, deps.timezone) : undefined;
    return at ?? '--expires must be a date YYYY-MM-DD';
  };
  const doors = (): string[] | null => {
    const list = values.door as string[] | undefined;
    return list && list.length > 0 ? list : null;
  };
  const show = (
    rows: { cardHash: string; cardHint: string; doors: string[] | null; expiresAt: number; note: string }[],
    extra: (i: number) => string,
  ) =>
    rows.forEach((r, i) => {
      deps.out.write(
        `${r.cardHint}\t${r.cardHash}\t${new Date(r.expiresAt).toISOString()}\t${r.doors?.join(',') ?? 'all doors'}\t${extra(i)}${r.note}\n`,
      );
    });

  try {
    if ((area === 'block' || area === 'pass') && action === 'list') {
      if (area === 'block') show(blocks.list(), () => '');
      else {
        const list = passes.list();
        show(list, (i) => `${list[i]!.kind}\t${list[i]!.hours}\tcamera consent ${list[i]!.cameraConsent}\t`);
      }
      return 0;
    }
    if ((area === 'block' || area === 'pass') && action === 'remove') {
      const which = card();
      if (typeof which === 'string') return fail(which);
      const removed = (area === 'block' ? blocks : passes).remove(
        which.hash,
        deps.actor,
        text('reason'),
        now,
      );
      deps.out.write(removed ? `${area} removed\n` : `no ${area} for this card\n`);
      return removed ? 0 : 1;
    }
    if ((area === 'block' || area === 'pass') && action === 'add') {
      const which = card();
      if (typeof which === 'string') return fail(which);
      if (!which.card) return fail('add needs --card (the hint is taken from the number)');
      const expiresAt = expiry();
      if (typeof expiresAt === 'string') return fail(expiresAt);
      const note = text('note') ?? '';
      if (area === 'block') {
        const block = blocks.add(
          { cardHash: which.hash, cardHint: cardHint(which.card), note, doors: doors(), expiresAt },
          deps.actor,
          now,
        );
        deps.out.write(`blocked ${block.cardHint} until ${new Date(block.expiresAt).toISOString()}\n`);
        return 0;
      }
      const consent = text('camera-consent') ?? 'required';
      const pass = passes.add(
        {
          cardHash: which.hash,
          cardHint: cardHint(which.card),
          kind: (text('kind') ?? '') as PassKind,
          note,
          doors: doors(),
          hours: text('hours') ?? '',
          cameraConsent: consent as PassCameraConsent,
          expiresAt,
        },
        deps.actor,
        now,
      );
      deps.out.write(
        `pass ${pass.cardHint} (${pass.kind}, ${pass.hours}) until ${new Date(pass.expiresAt).toISOString()}${
          pass.cameraConsent === 'required'
            ? '; register its camera consent: dorvakt consent sign --kind camera'
            : ''
        }\n`,
      );
      return 0;
    }
  } catch (error) {
    if (error instanceof LocalAccessError) return fail(error.message);
    throw error;
  }
  deps.err.write(LOCAL_ACCESS_USAGE);
  return 2;
}
