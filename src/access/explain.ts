import type { Decision, DenyReason } from '../contract/reasons.ts';
import { type DecisionInput, decide } from './decide.ts';

/** The checks a patron passes at the door, as staff at the desk see them. */
export const CHECKS = ['schedule', 'lockout', 'pin', 'library', 'category', 'agreement', 'camera'] as const;
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

function findings(input: DecisionInput): Record<CheckName, Finding> {
  const { schedule, policy, patron, consent } = input;
  const result = (reasons: DenyReason[]): Finding => ({ status: reasons.length ? 'fail' : 'pass', reasons });
  const notApplied: Finding = { status: 'not_applied', reasons: [] };
  const unknown: Finding = { status: 'unknown', reasons: [] };
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
