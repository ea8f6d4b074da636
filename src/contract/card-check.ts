/**
 * The desk's card check ("why can't I get in?") as the dashboard reaches it: answered by the door process,
 * which owns the library-system client. Carries no card number, PIN or name back.
 */
import type { CheckRow } from '../access/explain.ts';
import type { ConsentStatus } from '../consent/consents.ts';
import type { ScheduleState } from './events.ts';
import type { Decision } from './reasons.ts';

/** The door's verdict at one instant, check by check. */
export interface CardCheckMoment {
  /** ISO instant. */
  at: string;
  schedule: ScheduleState;
  decision: Decision;
  checks: CheckRow[];
}

export interface CardCheckResult {
  door: string;
  pinGiven: boolean;
  patron:
    | { status: 'ok'; source: 'local' | 'live' | 'cache'; category: string | null; birthYear: number | null }
    | { status: 'unavailable'; error: string };
  consent: ConsentStatus;
  /** The door's rules the words need. */
  policy: { minAge: number; requirePin: boolean; pinAttempts: number; pinLockoutMinutes: number };
  now: CardCheckMoment;
  /** The start of the next staffless hours (within the plans), unless they are now. */
  nextStaffless: CardCheckMoment | null;
}

export interface CardCheckAccess {
  explain(card: string, pin: string | undefined, door: string): Promise<CardCheckResult>;
}

/** Bad input or a check already running; the message is for the log, the page says it in words. */
export class CardCheckRefused extends Error {
  override name = 'CardCheckRefused';
}
