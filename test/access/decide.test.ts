import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecisionInput, decide } from '../../src/access/decide.ts';
import type { PatronStanding } from '../../src/contract/patron.ts';
import type { PassFacts } from '../../src/local-access/facts.ts';
import { DENY_REASONS, GRANT_REASONS, type Reason } from '../../src/contract/reasons.ts';

const goodStanding: PatronStanding = {
  known: true,
  pinOk: null,
  blocked: false,
  cardLost: false,
  expired: false,
  finesExceeded: false,
  category: 'V',
  birthYear: 1980,
};

function input(over: Partial<DecisionInput> = {}, standing: Partial<PatronStanding> = {}): DecisionInput {
  return {
    schedule: 'staffless',
    policy: {
      staffedMode: 'card',
      requirePin: false,
      minAge: 15,
      categoriesAllowedAlone: ['LIB'],
      categoriesDenied: ['INST'],
      offlinePolicy: 'deny',
    },
    pinGiven: false,
    lockedOut: false,
    patron: { status: 'ok', source: 'live', standing: { ...goodStanding, ...standing } },
    knownRecently: false,
    consent: { agreement: 'signed', camera: 'signed', agreementVersion: '1' },
    year: 2026,
    blockedLocally: false,
    pass: null,
    emergency: null,
    ...over,
  };
}

const withPolicy = (p: Partial<DecisionInput['policy']>, over: Partial<DecisionInput> = {}) => {
  const base = input(over);
  return { ...base, policy: { ...base.policy, ...p } };
};
const unavailable = { status: 'unavailable', error: 'timeout' } as const;
const pass = (over: Partial<PassFacts> = {}): PassFacts => ({
  expired: false,
  forThisDoor: true,
  insideHours: true,
  cameraConsentRequired: true,
  ...over,
});

const table: [string, DecisionInput, Reason][] = [
  ['valid patron with both consents in staffless hours', input(), 'allow'],
  ['closed hours', input({ schedule: 'closed' }), 'closed'],
  ['closed wins over everything', input({ schedule: 'closed', lockedOut: true }, { known: false }), 'closed'],
  [
    'staffed hours, card mode, good card without consent',
    input({ schedule: 'staffed', consent: { agreement: 'none', camera: 'none', agreementVersion: null } }),
    'allow_staffed',
  ],
  ['unknown card', input({}, { known: false }), 'unknown_card'],
  ['unknown card in staffed hours', input({ schedule: 'staffed' }, { known: false }), 'unknown_card'],
  ['wrong PIN', input({ pinGiven: true }, { pinOk: false }), 'bad_pin'],
  ['PIN given but source said nothing (missing CQ)', input({ pinGiven: true }, { pinOk: null }), 'bad_pin'],
  ['right PIN', input({ pinGiven: true }, { pinOk: true }), 'allow'],
  ['PIN required but none given', withPolicy({ requirePin: true }), 'pin_required'],
  [
    'PIN required, given and right',
    withPolicy(
      { requirePin: true },
      {
        pinGiven: true,
        patron: { status: 'ok', source: 'live', standing: { ...goodStanding, pinOk: true } },
      },
    ),
    'allow',
  ],
  ['blocked', input({}, { blocked: true }), 'blocked'],
  ['lost card (lost wins over blocked)', input({}, { blocked: true, cardLost: true }), 'card_lost'],
  ['expired', input({}, { expired: true }), 'card_expired'],
  ['fines over the limit', input({}, { finesExceeded: true }), 'fines'],
  [
    'no agreement',
    input({ consent: { agreement: 'none', camera: 'signed', agreementVersion: null } }),
    'no_agreement',
  ],
  [
    'no camera consent',
    input({ consent: { agreement: 'signed', camera: 'none', agreementVersion: '1' } }),
    'no_camera_consent',
  ],
  [
    'agreement withdrawn',
    input({ consent: { agreement: 'withdrawn', camera: 'signed', agreementVersion: null } }),
    'consent_withdrawn',
  ],
  [
    'camera consent withdrawn',
    input({ consent: { agreement: 'signed', camera: 'withdrawn', agreementVersion: '1' } }),
    'consent_withdrawn',
  ],
  ['child under minimum age', input({}, { birthYear: 2016 }), 'under_age'],
  ['turns 15 this year', input({}, { birthYear: 2011 }), 'allow'],
  ['turns 14 this year', input({}, { birthYear: 2012 }), 'under_age'],
  ['no birth year with an age rule', input({}, { birthYear: undefined }), 'under_age'],
  [
    'no birth year, no age rule',
    withPolicy(
      { minAge: 0 },
      { patron: { status: 'ok', source: 'live', standing: { ...goodStanding, birthYear: undefined } } },
    ),
    'allow',
  ],
  ['child in a category allowed alone', input({}, { birthYear: 2016, category: 'LIB' }), 'allow'],
  ['denied category', input({}, { category: 'INST' }), 'category_not_allowed'],
  ['child in staffed hours', input({ schedule: 'staffed' }, { birthYear: 2016 }), 'allow_staffed'],
  [
    'library system away, policy deny',
    input({ patron: unavailable, knownRecently: true }),
    'ils_unavailable',
  ],
  [
    'library system away, allow_known, card not seen',
    withPolicy({ offlinePolicy: 'allow_known' }, { patron: unavailable }),
    'ils_unavailable',
  ],
  [
    'library system away, allow_known, card seen recently',
    withPolicy({ offlinePolicy: 'allow_known' }, { patron: unavailable, knownRecently: true }),
    'allow_offline_known',
  ],
  [
    'library system away, allow_known, consent withdrawn',
    withPolicy(
      { offlinePolicy: 'allow_known' },
      {
        patron: unavailable,
        knownRecently: true,
        consent: { agreement: 'signed', camera: 'withdrawn', agreementVersion: '1' },
      },
    ),
    'consent_withdrawn',
  ],
  [
    'PIN required, none given, staffed hours: staff are there',
    withPolicy({ requirePin: true }, { schedule: 'staffed' }),
    'allow_staffed',
  ],
  [
    'library system away, allow_known, staffed hours: no consent needed, as for a live check',
    withPolicy(
      { offlinePolicy: 'allow_known' },
      {
        schedule: 'staffed',
        patron: unavailable,
        knownRecently: true,
        consent: { agreement: 'none', camera: 'none', agreementVersion: null },
      },
    ),
    'allow_offline_known',
  ],
  ['locked out after wrong PINs', input({ lockedOut: true, pinGiven: true }, { pinOk: true }), 'locked_out'],
  // Issue 14: the site's own block list, passes and emergency modes.
  [
    'blocked on the local list while the library system says OK',
    input({ blockedLocally: true }),
    'blocked_locally',
  ],
  [
    'a valid pass inside its hours, outside library hours',
    input({ schedule: 'closed', pass: pass() }),
    'allow_pass',
  ],
  ['an expired pass', input({ pass: pass({ expired: true }) }), 'pass_expired'],
  ['a pass outside its hours', input({ pass: pass({ insideHours: false }) }), 'outside_pass_hours'],
  ['a pass for another door', input({ pass: pass({ forThisDoor: false }) }), 'pass_wrong_door'],
  [
    'a pass that needs camera consent, without it',
    input({ pass: pass(), consent: { agreement: 'none', camera: 'none', agreementVersion: null } }),
    'no_camera_consent',
  ],
  [
    'a pass that does not need camera consent, without any consent',
    input({
      pass: pass({ cameraConsentRequired: false }),
      consent: { agreement: 'none', camera: 'none', agreementVersion: null },
    }),
    'allow_pass',
  ],
  [
    'a pass with camera consent withdrawn, even when not required',
    input({
      pass: pass({ cameraConsentRequired: false }),
      consent: { agreement: 'none', camera: 'withdrawn', agreementVersion: null },
    }),
    'consent_withdrawn',
  ],
  ['emergency nobody refuses a good card', input({ emergency: 'nobody' }), 'emergency_closed'],
  [
    'emergency everybody opens a closed door for an unknown card',
    input({ emergency: 'everybody', schedule: 'closed', patron: unavailable }),
    'allow_emergency',
  ],
  [
    'emergency everybody still refuses a local block',
    input({ emergency: 'everybody', blockedLocally: true }),
    'blocked_locally',
  ],
  [
    'emergency everybody still refuses an expired pass',
    input({ emergency: 'everybody', pass: pass({ expired: true }) }),
    'pass_expired',
  ],
  [
    'emergency everybody refuses a card the library reports blocked',
    input({ emergency: 'everybody' }, { blocked: true }),
    'blocked',
  ],
  // Found by mutation testing (docs/mutation.md): each reason below was reached only through another path.
  [
    'emergency everybody refuses a card the library reports lost',
    input({ emergency: 'everybody' }, { cardLost: true }),
    'card_lost',
  ],
  [
    'emergency everybody refuses a card the library reports expired',
    input({ emergency: 'everybody' }, { expired: true }),
    'card_expired',
  ],
  [
    'a pass whose holder withdrew the open-library agreement',
    input({ pass: pass(), consent: { agreement: 'withdrawn', camera: 'signed', agreementVersion: null } }),
    'consent_withdrawn',
  ],
];

describe('decide', () => {
  it.each(table)('%s → %s', (_name, given, expected) => {
    const decision = decide(given);
    expect(decision.reason).toBe(expected);
    expect(decision.allow).toBe((GRANT_REASONS as readonly string[]).includes(expected));
  });

  it('the table covers every reason code except store_unavailable (decided outside, when the store fails)', () => {
    const covered = new Set(table.map(([, , r]) => r));
    const missing = [...GRANT_REASONS, ...DENY_REASONS].filter((r) => !covered.has(r));
    expect(missing).toEqual(['store_unavailable']);
  });

  const consentState = fc.constantFrom('signed', 'none', 'withdrawn') as fc.Arbitrary<
    'signed' | 'none' | 'withdrawn'
  >;
  const anyInput = fc.record({
    schedule: fc.constantFrom('staffed', 'staffless', 'closed') as fc.Arbitrary<
      'staffed' | 'staffless' | 'closed'
    >,
    requirePin: fc.boolean(),
    offline: fc.constantFrom('deny', 'allow_known') as fc.Arbitrary<'deny' | 'allow_known'>,
    pinGiven: fc.boolean(),
    lockedOut: fc.boolean(),
    available: fc.boolean(),
    knownRecently: fc.boolean(),
    standing: fc.record({
      known: fc.boolean(),
      pinOk: fc.constantFrom(true, false, null),
      blocked: fc.boolean(),
      cardLost: fc.boolean(),
      expired: fc.boolean(),
      finesExceeded: fc.boolean(),
      category: fc.constantFrom(undefined, 'V', 'B', 'LIB', 'INST'),
      birthYear: fc.option(fc.integer({ min: 1900, max: 2026 }), { nil: undefined }),
    }),
    agreement: consentState,
    camera: consentState,
  });

  it('never allows a patron without both consents in staffless hours (property)', () => {
    fc.assert(
      fc.property(anyInput, (a) => {
        const decision = decide({
          schedule: a.schedule,
          policy: {
            staffedMode: 'card',
            requirePin: a.requirePin,
            minAge: 15,
            categoriesAllowedAlone: ['LIB'],
            categoriesDenied: ['INST'],
            offlinePolicy: a.offline,
          },
          pinGiven: a.pinGiven,
          lockedOut: a.lockedOut,
          patron: a.available
            ? { status: 'ok', source: 'live', standing: a.standing }
            : { status: 'unavailable', error: 'x' },
          knownRecently: a.knownRecently,
          consent: { agreement: a.agreement, camera: a.camera, agreementVersion: null },
          year: 2026,
          blockedLocally: false,
          pass: null,
          emergency: null,
        });
        if (decision.allow && a.schedule === 'staffless') {
          expect(a.agreement).toBe('signed');
          expect(a.camera).toBe('signed');
        }
        if (decision.allow) {
          expect(a.schedule).not.toBe('closed');
          expect(a.lockedOut).toBe(false);
          if (a.available) {
            expect(a.standing.known && !a.standing.blocked && !a.standing.cardLost).toBe(true);
            if (a.pinGiven) expect(a.standing.pinOk).toBe(true);
          } else {
            expect(a.offline === 'allow_known' && a.knownRecently).toBe(true);
          }
        }
      }),
      { numRuns: 5000 },
    );
  });
});
