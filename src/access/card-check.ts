/**
 * The desk's card check in the door process: the same facts a swipe gathers, read only, then `explain`.
 * It never opens the door, writes no entry, counts no PIN failure, and asks the library system on a
 * connection of its own (the caller's `lookup`), so a swipe never waits behind it.
 */
import type { Consents } from '../consent/consents.ts';
import type { CardCheckAccess, CardCheckMoment, CardCheckResult } from '../contract/card-check.ts';
import { CardCheckRefused } from '../contract/card-check.ts';
import type { ScheduleState } from '../contract/events.ts';
import type { PatronLookup } from '../contract/patron.ts';
import type { CardHasher } from '../privacy/card-hash.ts';
import { cardMatchesADoor } from '../reader/card-match.ts';
import { MAX_LINE } from '../reader/frames.ts';
import type { EntryStore } from '../store/entries.ts';
import { wallClock } from '../time/zone.ts';
import type { AccessPolicy, DecisionInput } from './decide.ts';
import { explain } from './explain.ts';
import type { EmergencyMode } from '../emergency/modes.ts';
import type { LocalAccessFacts } from '../local-access/facts.ts';

export interface CardCheckDoor {
  id: string;
  policy: AccessPolicy;
  config: { reader: { card_pattern: string } };
  schedule: {
    stateAt(at: Date): ScheduleState;
    nextChange(from: Date): { state: ScheduleState; at: Date } | null;
  };
}

export interface CardCheckDeps {
  doors: readonly CardCheckDoor[];
  entries: Pick<EntryStore, 'pinFailuresSince' | 'lastLiveOk'>;
  consents: Pick<Consents, 'status'>;
  hashCard: CardHasher;
  /** A lookup that takes nothing from the swipes' library-system connections. */
  lookup: (card: string, pin?: string, cardHash?: string) => Promise<PatronLookup>;
  timezone: string;
  pinLockout: { attempts: number; minutes: number };
  offlineKnownDays: number;
  now?: () => Date;
  /** The site's own rules, as the gate reads them at a swipe (src/local-access, src/emergency). */
  localAccess: { factsFor(cardHash: string, door: string, at: Date): LocalAccessFacts };
  emergency: EmergencyMode;
}

/** Schedule changes looked through for the next staffless hours (a week holds far fewer). */
const MAX_CHANGES = 64;

export class CardCheck implements CardCheckAccess {
  private running = false;
  constructor(private readonly deps: CardCheckDeps) {}

  async explain(card: unknown, pin: unknown, doorId: unknown): Promise<CardCheckResult> {
    const { deps } = this;
    // The worker is trusted with little: every argument is checked here.
    const door = deps.doors.find((d) => d.id === doorId);
    if (!door) throw new CardCheckRefused('no such door');
    if (typeof card !== 'string' || card.length > MAX_LINE || !/^[\x20-\x7e]+$/.test(card))
      throw new CardCheckRefused('not a card number');
    if (!cardMatchesADoor([door.config], card)) throw new CardCheckRefused("not this door's card pattern");
    if (pin !== undefined && (typeof pin !== 'string' || !/^[\x20-\x7e]{1,32}$/.test(pin)))
      throw new CardCheckRefused('not a PIN');
    // One at a time: a desk has one patron in front of it, and a flood from the dashboard stays small.
    if (this.running) throw new CardCheckRefused('a card check is already running');
    this.running = true;
    try {
      return await this.run(door, card, pin);
    } finally {
      this.running = false;
    }
  }

  private async run(door: CardCheckDoor, card: string, pin: string | undefined): Promise<CardCheckResult> {
    const { deps } = this;
    const now = (deps.now ?? (() => new Date()))();
    const cardHash = deps.hashCard(card);
    const consent = deps.consents.status(cardHash);
    const patron = await deps.lookup(card, pin, cardHash);
    const lastLiveOk = patron.status === 'unavailable' ? deps.entries.lastLiveOk(cardHash) : null;

    const local = (at: Date) => deps.localAccess.factsFor(cardHash, door.id, at);
    const moment = (at: Date, schedule: ScheduleState): CardCheckMoment => {
      const facts = local(at);
      const input: DecisionInput = {
        schedule,
        policy: door.policy,
        pinGiven: pin !== undefined,
        lockedOut:
          deps.entries.pinFailuresSince(cardHash, at.getTime() - deps.pinLockout.minutes * 60_000) >=
          deps.pinLockout.attempts,
        patron,
        knownRecently: lastLiveOk !== null && at.getTime() - lastLiveOk <= deps.offlineKnownDays * 86_400_000,
        consent,
        year: wallClock(at, deps.timezone).year,
        blockedLocally: facts.blocked,
        pass: facts.pass,
        emergency: deps.emergency.current(at)?.mode ?? null,
      };
      return { at: at.toISOString(), schedule, ...explain(input) };
    };

    const scheduleNow = door.schedule.stateAt(now);
    let nextStaffless: CardCheckMoment | null = null;
    if (scheduleNow !== 'staffless') {
      let from = now;
      for (let i = 0; i < MAX_CHANGES; i++) {
        const change = door.schedule.nextChange(from);
        if (!change) break;
        if (change.state === 'staffless') {
          nextStaffless = moment(change.at, 'staffless');
          break;
        }
        from = change.at;
      }
    }
    return {
      door: door.id,
      pinGiven: pin !== undefined,
      patron:
        patron.status === 'ok'
          ? {
              status: 'ok',
              source: patron.source,
              category: patron.standing.category ?? null,
              birthYear: patron.standing.birthYear ?? null,
            }
          : { status: 'unavailable', error: patron.error },
      consent,
      policy: {
        minAge: door.policy.minAge,
        requirePin: door.policy.requirePin,
        pinAttempts: deps.pinLockout.attempts,
        pinLockoutMinutes: deps.pinLockout.minutes,
      },
      now: moment(now, scheduleNow),
      nextStaffless,
    };
  }
}
