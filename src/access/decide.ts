import type { ConsentStatus } from '../consent/consents.ts';
import type { ScheduleState } from '../contract/events.ts';
import type { PatronLookup } from '../contract/patron.ts';
import type { Decision } from '../contract/reasons.ts';
import type { EmergencyModeName } from '../emergency/modes.ts';
import type { PassFacts } from '../local-access/facts.ts';

export interface AccessPolicy {
  staffedMode: 'card' | 'unlocked';
  requirePin: boolean;
  minAge: number;
  categoriesAllowedAlone: readonly string[];
  categoriesDenied: readonly string[];
  offlinePolicy: 'deny' | 'allow_known';
}

export interface DecisionInput {
  schedule: ScheduleState;
  policy: AccessPolicy;
  /** Whether the reader delivered a PIN with the card. */
  pinGiven: boolean;
  /** Too many wrong PINs for this card recently. */
  lockedOut: boolean;
  patron: PatronLookup;
  /** For offline allow_known: the card passed a live check within the configured days. */
  knownRecently: boolean;
  consent: ConsentStatus;
  /** Current calendar year in the site's zone, for the age rule. */
  year: number;
  /** A block on the site's own list is in force for this card at this door (src/local-access). */
  blockedLocally: boolean;
  /** The card's local pass (cleaners, guards, institutions, temporary cards), or null. */
  pass: PassFacts | null;
  /** The site's emergency mode in force, or null (src/emergency). */
  emergency: EmergencyModeName | null;
}

/**
 * The door decision. Pure: no I/O, no clock. The order of checks is part of the contract:
 * a patron hears the most useful reason first, and nothing after a failing check can grant.
 */
export function decide(input: DecisionInput): Decision {
  const { schedule, policy, patron } = input;
  // An emergency closure refuses everyone.
  if (input.emergency === 'nobody') return deny('emergency_closed');
  // The site's own list wins over every grant, `everybody` included: a block or a lapsed pass never opens.
  if (input.blockedLocally) return deny('blocked_locally');
  if (input.pass?.expired) return deny('pass_expired');
  // `everybody`: a readable card is enough (the gate does not ask the library system); a card known bad is not.
  if (input.emergency === 'everybody')
    return knownBadCard(patron) ?? { allow: true, reason: 'allow_emergency' };
  if (input.pass) return passDecision(input, input.pass);
  if (schedule === 'closed') return deny('closed');
  if (input.lockedOut) return deny('locked_out');
  if (schedule === 'staffless' && policy.requirePin && !input.pinGiven) return deny('pin_required');

  if (patron.status === 'unavailable') {
    // Never silently allow: only the explicit policy can, and only for cards seen live recently.
    if (policy.offlinePolicy !== 'allow_known' || !input.knownRecently) return deny('ils_unavailable');
    if (schedule === 'staffless')
      return consentDenial(input) ?? { allow: true, reason: 'allow_offline_known' };
    return { allow: true, reason: 'allow_offline_known' };
  }

  const standing = patron.standing;
  if (!standing.known) return deny('unknown_card');
  if (input.pinGiven && standing.pinOk !== true) return deny('bad_pin');
  if (standing.cardLost) return deny('card_lost');
  if (standing.blocked) return deny('blocked');
  if (standing.expired) return deny('card_expired');
  if (standing.finesExceeded) return deny('fines');

  // Staff are present in staffed hours: a card in good standing is enough.
  if (schedule === 'staffed') return { allow: true, reason: 'allow_staffed' };

  const category = standing.category ?? '';
  if (category && policy.categoriesDenied.includes(category)) return deny('category_not_allowed');
  const allowedAlone = category !== '' && policy.categoriesAllowedAlone.includes(category);
  if (!allowedAlone && policy.minAge > 0) {
    // Without a birth year the age cannot be shown: refuse rather than guess.
    if (standing.birthYear === undefined) return deny('under_age');
    // Only the birth year is kept, so age counts from the start of the year one turns N
    // ("fra det året du fyller 15"), as Nordic libraries phrase the rule.
    if (input.year - standing.birthYear < policy.minAge) return deny('under_age');
  }

  return consentDenial(input) ?? { allow: true, reason: 'allow' };
}

/**
 * A pass replaces the library's rules with its own: its doors and weekly hours instead of the schedule, no
 * library-system standing, PIN, age or open-library agreement (its holder is not a patron). Camera consent is
 * the pass's setting (default required); a recorded withdrawal refuses either way. See docs/local-access.md.
 */
function passDecision(input: DecisionInput, pass: PassFacts): Decision {
  if (!pass.forThisDoor) return deny('pass_wrong_door');
  if (!pass.insideHours) return deny('outside_pass_hours');
  const { consent } = input;
  if (consent.agreement === 'withdrawn' || consent.camera === 'withdrawn') return deny('consent_withdrawn');
  if (pass.cameraConsentRequired && consent.camera !== 'signed') return deny('no_camera_consent');
  return { allow: true, reason: 'allow_pass' };
}

function knownBadCard(patron: PatronLookup): Decision | null {
  if (patron.status !== 'ok' || !patron.standing.known) return null;
  if (patron.standing.cardLost) return deny('card_lost');
  if (patron.standing.blocked) return deny('blocked');
  if (patron.standing.expired) return deny('card_expired');
  return null;
}

function consentDenial(input: DecisionInput): Decision | null {
  const { consent } = input;
  if (consent.agreement === 'withdrawn' || consent.camera === 'withdrawn') return deny('consent_withdrawn');
  if (consent.agreement !== 'signed') return deny('no_agreement');
  if (consent.camera !== 'signed') return deny('no_camera_consent');
  return null;
}

const deny = (reason: Extract<Decision, { allow: false }>['reason']): Decision => ({
  allow: false,
  reason,
});
