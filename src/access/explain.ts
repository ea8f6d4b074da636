import type { Decision, DenyReason } from '../contract/reasons.ts';
import { type DecisionInput, decide } from './decide.ts';

/** The checks a patron passes at the door, as staff at the desk see them. */
export const CHECKS = [
  'local',
  'schedule',
  'lockout',
  'pin',
  'library',
  'category',
  'agreement',
  'camera',
] as const;
export type CheckName = (typeof CHECKS)[number];

/**
 * `pass` / `fail`; `not_applied`: the door does not ask this now (e.g. consent in staffed hours);
 * `unknown`: it cannot be told (the library system did not answer).
 */
export type CheckStatus = 'pass' | 'fail' | 'not_applied' | 'unknown';

export interface CheckRow {
  check: CheckName;
  status: CheckStatus;
  /** Every refusal this check finds on its own (empty unless `fail`). */
  reasons: DenyReason[];
  /** This row holds the refusal the door gives (the first such row when two share it). */
  decisive: boolean;
}

export interface Explanation {
  /** decide's verdict, unchanged: the check order lives only there. */
  decision: Decision;
  checks: CheckRow[];
}

/**
 * Each check of a door decision on its own, for the desk's "why can't I get in?". Pure. The verdict is
 * decide's; the rows say what each check finds, so that no row fails when decide allows and the reason
 * decide gives is always a failing row's (a property test holds both).
 */
export function explain(input: DecisionInput): Explanation {
  const decision = decide(input);
  const found = findings(input);
  const decisive = decision.allow
    ? undefined
    : CHECKS.find((check) => found[check].reasons.includes(decision.reason));
  const checks = CHECKS.map((check): CheckRow => ({ check, ...found[check], decisive: check === decisive }));
  return { decision, checks };
}

type Finding = { status: CheckStatus; reasons: DenyReason[] };

const result = (reasons: DenyReason[]): Finding => ({ status: reasons.length ? 'fail' : 'pass', reasons });
const notApplied: Finding = { status: 'not_applied', reasons: [] };
const unknown: Finding = { status: 'unknown', reasons: [] };

function findings(input: DecisionInput): Record<CheckName, Finding> {
  // The site's own rules (emergency mode, block list, passes) come first and may replace the rest.
  const local: DenyReason[] = [];
  if (input.emergency === 'nobody') local.push('emergency_closed');
  if (input.blockedLocally) local.push('blocked_locally');
  if (input.pass?.expired) local.push('pass_expired');
  if (input.emergency === 'everybody' && local.length === 0) return everybodyFindings(input);
  if (input.pass && local.length === 0) return passFindings(input, input.pass);
  return { local: result(local), ...patronFindings(input) };
}

/** `everybody`: a readable card opens unless the library system knows it is lost, blocked or expired. */
function everybodyFindings(input: DecisionInput): Record<CheckName, Finding> {
  const standing =
    input.patron.status === 'ok' && input.patron.standing.known ? input.patron.standing : undefined;
  const bad: DenyReason[] = [];
  if (standing?.cardLost) bad.push('card_lost');
  if (standing?.blocked) bad.push('blocked');
  if (standing?.expired) bad.push('card_expired');
  return {
    local: result([]),
    schedule: notApplied,
    lockout: notApplied,
    pin: notApplied,
    library: standing ? result(bad) : notApplied,
    category: notApplied,
    agreement: notApplied,
    camera: notApplied,
  };
}

/** A valid pass: its doors and hours instead of the schedule, and camera consent as the pass says. */
function passFindings(
  input: DecisionInput,
  pass: NonNullable<DecisionInput['pass']>,
): Record<CheckName, Finding> {
  const local: DenyReason[] = [];
  if (!pass.forThisDoor) local.push('pass_wrong_door');
  if (!pass.insideHours) local.push('outside_pass_hours');
  const { consent } = input;
  const camera: DenyReason[] = [];
  if (consent.camera === 'withdrawn') camera.push('consent_withdrawn');
  else if (pass.cameraConsentRequired && consent.camera !== 'signed') camera.push('no_camera_consent');
  return {
    local: result(local),
    schedule: notApplied,
    lockout: notApplied,
    pin: notApplied,
    library: notApplied,
    category: notApplied,
    agreement: consent.agreement === 'withdrawn' ? result(['consent_withdrawn']) : notApplied,
    camera: pass.cameraConsentRequired || consent.camera === 'withdrawn' ? result(camera) : notApplied,
  };
}

function patronFindings(input: DecisionInput): Omit<Record<CheckName, Finding>, 'local'> {
  const { schedule, policy, patron, consent } = input;
  const staffless = schedule === 'staffless';
  const standing = patron.status === 'ok' ? patron.standing : undefined;
  // Offline, the door may let a recently seen card in; it then skips the standing and category checks.
  const offlineKnown =
    patron.status === 'unavailable' && policy.offlinePolicy === 'allow_known' && input.knownRecently;

  let pin: Finding;
  if (!input.pinGiven) pin = staffless && policy.requirePin ? result(['pin_required']) : notApplied;
  else if (!standing?.known) pin = unknown;
  else pin = result(standing.pinOk === true ? [] : ['bad_pin']);

  let library: Finding;
  if (!standing) library = offlineKnown ? result([]) : result(['ils_unavailable']);
  else {
    const reasons: DenyReason[] = [];
    if (!standing.known) reasons.push('unknown_card');
    if (standing.cardLost) reasons.push('card_lost');
    if (standing.blocked) reasons.push('blocked');
    if (standing.expired) reasons.push('card_expired');
    if (standing.finesExceeded) reasons.push('fines');
    library = result(reasons);
  }

  let category: Finding = notApplied;
  if (staffless && standing) {
    const reasons: DenyReason[] = [];
    const cat = standing.category ?? '';
    if (cat && policy.categoriesDenied.includes(cat)) reasons.push('category_not_allowed');
    const allowedAlone = cat !== '' && policy.categoriesAllowedAlone.includes(cat);
    if (
      !allowedAlone &&
      policy.minAge > 0 &&
      (standing.birthYear === undefined || input.year - standing.birthYear < policy.minAge)
    )
      reasons.push('under_age');
    category = result(reasons);
  }

  const consentCheck = (state: 'signed' | 'none' | 'withdrawn', missing: DenyReason): Finding =>
    !staffless
      ? notApplied
      : result(state === 'withdrawn' ? ['consent_withdrawn'] : state === 'signed' ? [] : [missing]);

  return {
    schedule: result(schedule === 'closed' ? ['closed'] : []),
    lockout: result(input.lockedOut ? ['locked_out'] : []),
    pin,
    library,
    category,
    agreement: consentCheck(consent.agreement, 'no_agreement'),
    camera: consentCheck(consent.camera, 'no_camera_consent'),
  };
}
