import type { Alarms } from '../alarms/alarms.ts';
import type { Consents, ConsentStatus } from '../consent/consents.ts';
import type { ScheduleState } from '../contract/events.ts';
import type { PatronLookup, PatronSource } from '../contract/patron.ts';
import { type Decision, PATRON_MESSAGES } from '../contract/reasons.ts';
import type { EmergencyMode } from '../emergency/modes.ts';
import type { EventBus } from '../events/bus.ts';
import { type LocalAccessFacts, NO_LOCAL_FACTS } from '../local-access/facts.ts';
import type { Logger } from '../log/logger.ts';
import type { CardHasher } from '../privacy/card-hash.ts';
import { ageBand, type EntryStore } from '../store/entries.ts';
import { wallClock } from '../time/zone.ts';
import { type AccessPolicy, type DecisionInput, decide } from './decide.ts';

export interface Swipe {
  card: string;
  pin?: string | undefined;
}

/** What the gate needs of one door: its schedule state now, its policy, and the relay. */
export interface GateDoor {
  id: string;
  policy: AccessPolicy;
  scheduleState(): ScheduleState;
  grant(): void;
  deny?(): void;
}

export interface GateDeps {
  entries: EntryStore;
  consents: Consents;
  patrons: PatronSource;
  /** The site's block list and passes (src/local-access), read at each swipe. */
  localAccess: { factsFor(cardHash: string, door: string, at: Date): LocalAccessFacts };
  /** The site's emergency mode (src/emergency), read at each swipe. */
  emergency: EmergencyMode;
  hashCard: CardHasher;
  alarms: Alarms;
  bus: EventBus;
  log: Logger;
  timezone: string;
  language: 'nb' | 'da' | 'en';
  pinLockout: { attempts: number; minutes: number };
  offlineKnownDays: number;
  now?: () => Date;
}

export interface SwipeResult {
  decision: Decision;
  entryId: number | null;
  message: string;
  /** How long the entry's commit waited for a write lock on the journal (an erasure's), when it waited. */
  storeWaitMs?: number;
  /** How long the entry's commit took, waits included (absent when it failed). */
  commitMs?: number;
  /** process.hrtime.bigint() at the end of each stage before the relay (absent when the store failed). */
  marks?: SwipeMarks;
}

/** Where a swipe's time goes before the relay: the swipe log splits the patron's wait by these. */
export interface SwipeMarks {
  /** Card hashed, schedule, block list, passes, emergency mode, PIN lockout count and consent read. */
  facts: bigint;
  /** The patron's standing (library system, local patrons or the offline rule); equal to `facts` when not asked. */
  patron: bigint;
  decided: bigint;
  /** The entry committed to the door's journal. */
  recorded: bigint;
}

const NO_CONSENT: ConsentStatus = { agreement: 'none', camera: 'none', agreementVersion: null };

/**
 * The path of one swipe: gather facts, decide, commit the entry, and only then pulse the relay.
 * If the entry cannot be committed the door stays shut: no entry, no opening.
 */
export class AccessGate {
  private readonly now: () => Date;

  constructor(private readonly deps: GateDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async handle(door: GateDoor, swipe: Swipe): Promise<SwipeResult> {
    const { deps } = this;
    const cardHash = deps.hashCard(swipe.card);
    const schedule = door.scheduleState();
    const pinGiven = swipe.pin !== undefined && swipe.pin !== '';
    const started = this.now();

    let lockedOut = false;
    let patron: PatronLookup = { status: 'unavailable', error: 'not asked' };
    let consent = NO_CONSENT;
    let knownRecently = false;
    let local = NO_LOCAL_FACTS;
    let emergency: DecisionInput['emergency'] = null;
    try {
      local = deps.localAccess.factsFor(cardHash, door.id, started);
      emergency = deps.emergency.current(started)?.mode ?? null;
      lockedOut =
        deps.entries.pinFailuresSince(cardHash, started.getTime() - deps.pinLockout.minutes * 60_000) >=
        deps.pinLockout.attempts;
      consent = deps.consents.status(cardHash);
    } catch (error) {
      return this.storeFailure(door, schedule, error);
    }
    const factsAt = process.hrtime.bigint();
    // A closed door or a locked-out card does not bother the library system; nor does a card the site decides
    // alone (blocked here, a pass) or an emergency mode (`everybody` opens for any readable card).
    const decidedLocally = local.blocked || local.pass !== null || emergency !== null;
    if (schedule !== 'closed' && !lockedOut && !decidedLocally) {
      patron = await deps.patrons.lookup(swipe.card, pinGiven ? swipe.pin : undefined, cardHash);
      if (patron.status === 'unavailable' && door.policy.offlinePolicy === 'allow_known') {
        const seen = deps.entries.lastLiveOk(cardHash);
        knownRecently = seen !== null && started.getTime() - seen <= deps.offlineKnownDays * 86_400_000;
      }
    }

    const patronAt = process.hrtime.bigint();
    const year = wallClock(started, deps.timezone).year;
    const decision = decide({
      schedule,
      policy: door.policy,
      pinGiven,
      lockedOut,
      patron,
      knownRecently,
      consent,
      year,
      blockedLocally: local.blocked,
      pass: local.pass,
      emergency,
    });
    const standing = patron.status === 'ok' ? patron.standing : undefined;
    const goodLive =
      patron.status === 'ok' &&
      patron.source !== 'local' &&
      standing?.known === true &&
      !standing.blocked &&
      !standing.cardLost;
    const decidedAt = process.hrtime.bigint();

    let storeWaitMs: number;
    let commitMs: number;
    let entryId: number;
    try {
      entryId = deps.entries.record({
        entry: {
          ts: started.getTime(),
          door: door.id,
          mode: schedule,
          outcome: decision.allow ? 'granted' : 'denied',
          reason: decision.reason,
          cardHash,
          category: standing?.category ?? null,
          ageBand: ageBand(standing?.birthYear, year),
          source:
            patron.status === 'ok'
              ? patron.source
              : decision.reason === 'allow_offline_known'
                ? 'offline'
                : null,
        },
        pinFailure: decision.reason === 'bad_pin' && pinGiven,
        // Remembered only where the offline policy needs it (least data).
        seenLive:
          goodLive && door.policy.offlinePolicy === 'allow_known'
            ? { category: standing?.category ?? null, birthYear: standing?.birthYear ?? null }
            : null,
        touchLocalPatron: patron.status === 'ok' && patron.source === 'local' && standing?.known === true,
      });
      storeWaitMs = deps.entries.lastWaitMs;
      commitMs = deps.entries.lastCommitMs;
      deps.alarms.clear('store_error');
      // A commit went through: there is room again.
      deps.alarms.clear('disk_full');
    } catch (error) {
      return this.storeFailure(door, schedule, error);
    }
    const recordedAt = process.hrtime.bigint();

    if (decision.allow) door.grant();
    else door.deny?.();
    // After the relay: the commit's sync starts and the rows go on from the door's journal to the store
    // (neither waits).
    deps.entries.afterRelay();

    const message = PATRON_MESSAGES[decision.reason][deps.language];
    deps.bus.publish({
      type: 'entry',
      door: door.id,
      outcome: decision.allow ? 'granted' : 'denied',
      reason: decision.reason,
      mode: schedule,
      category: standing?.category,
      entryId,
      ts: started.toISOString(),
    });
    return {
      decision,
      entryId,
      message,
      commitMs,
      marks: { facts: factsAt, patron: patronAt, decided: decidedAt, recorded: recordedAt },
      ...(storeWaitMs > 0 ? { storeWaitMs } : {}),
    };
  }

  private storeFailure(door: GateDoor, schedule: ScheduleState, error: unknown): SwipeResult {
    const { deps } = this;
    const detail = (error as { code?: string }).code ?? (error as Error).message;
    deps.log.error({ door: door.id, err: detail }, 'store failed during a swipe; door stays shut');
    deps.alarms.raise('store_error', '', String(detail));
    if (/SQLITE_FULL|ENOSPC/.test(String(detail))) deps.alarms.raise('disk_full', '', String(detail));
    door.deny?.();
    const decision: Decision = { allow: false, reason: 'store_unavailable' };
    deps.bus.publish({
      type: 'entry',
      door: door.id,
      outcome: 'denied',
      reason: 'store_unavailable',
      mode: schedule,
      entryId: 0,
      ts: this.now().toISOString(),
    });
    return { decision, entryId: null, message: PATRON_MESSAGES.store_unavailable[deps.language] };
  }
}
