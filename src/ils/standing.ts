/** From a SIP2 patron reply to Dørvakt's PatronStanding: pure, so every rule is unit tested. */
import type { PatronStanding } from '../contract/patron.ts';
import type { Reason } from '../contract/reasons.ts';
import { parseSipDay } from './codec.ts';
import type { IlsConfig } from './config.ts';
import { type PatronInfoReply, replyField } from './messages.ts';

export type StandingRules = Pick<IlsConfig, 'status_deny' | 'fines_limit' | 'fields'>;

/**
 * Fails closed: BL must be exactly Y to be known; with a PIN, CQ must be exactly Y (a missing CQ is
 * a wrong PIN); an unreadable fee amount counts as over the limit when a limit is set.
 */
export function standingFromPatronInfo(
  reply: PatronInfoReply,
  rules: StandingRules,
  pinGiven: boolean,
  now: Date = new Date(),
): PatronStanding {
  const bl = replyField(reply, 'BL');
  const cq = replyField(reply, 'CQ');
  const flags = { blocked: false, card_lost: false, expired: false, fines: false };
  const status = reply.patronStatus.padEnd(14, 'Y');
  for (const [position, flag] of Object.entries(rules.status_deny)) {
    if (status[Number(position)]?.toUpperCase() === 'Y') flags[flag] = true;
  }
  if (rules.fines_limit !== undefined) {
    const bv = replyField(reply, 'BV');
    if (bv !== undefined && bv.trim() !== '') {
      const amount = Number(bv.trim().replace(',', '.'));
      if (!Number.isFinite(amount) || Math.abs(amount) > rules.fines_limit) flags.fines = true;
    }
  }
  const expiry = parseSipDay(replyField(reply, rules.fields.expiry));
  if (expiry) {
    const today = now.getFullYear() * 10000 + (now.getMonth() + 1) * 100 + now.getDate();
    if (expiry.year * 10000 + expiry.month * 100 + expiry.day < today) flags.expired = true;
  }
  const category = replyField(reply, rules.fields.category)?.trim();
  const birth = parseSipDay(replyField(reply, rules.fields.birth_date));
  return {
    known: bl === 'Y',
    pinOk: pinGiven ? cq === 'Y' : null,
    blocked: flags.blocked,
    cardLost: flags.card_lost,
    expired: flags.expired,
    finesExceeded: flags.fines,
    category: category ? category : undefined,
    birthYear: birth && birth.year <= now.getFullYear() ? birth.year : undefined,
  };
}

/**
 * The library system's part of the verdict, for ils-check. The door's decision adds schedule,
 * consent, age and category rules on top; this only says what SIP2 alone would allow.
 */
export function verdictFromStanding(standing: PatronStanding, pinGiven: boolean): 'allow' | Reason {
  if (!standing.known) return 'unknown_card';
  if (pinGiven && standing.pinOk !== true) return 'bad_pin';
  if (standing.cardLost) return 'card_lost';
  if (standing.blocked) return 'blocked';
  if (standing.expired) return 'card_expired';
  if (standing.finesExceeded) return 'fines';
  return 'allow';
}
