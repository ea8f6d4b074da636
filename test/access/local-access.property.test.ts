import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecisionInput, decide } from '../../src/access/decide.ts';
import type { PatronLookup } from '../../src/contract/patron.ts';

/** Every fact decide reads, drawn freely: the properties must hold whatever the other facts say. */
const consentState = fc.constantFrom('signed', 'none', 'withdrawn') as fc.Arbitrary<
  'signed' | 'none' | 'withdrawn'
>;
const patron: fc.Arbitrary<PatronLookup> = fc.oneof(
  fc.constant({ status: 'unavailable', error: 'x' } as const),
  fc.record({
    status: fc.constant('ok' as const),
    source: fc.constantFrom('live', 'cache', 'local') as fc.Arbitrary<'live' | 'cache' | 'local'>,
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
  }),
);
const passFacts = fc.option(
  fc.record({
    expired: fc.boolean(),
    forThisDoor: fc.boolean(),
    insideHours: fc.boolean(),
    cameraConsentRequired: fc.boolean(),
  }),
  { nil: null },
);
const anyInput: fc.Arbitrary<DecisionInput> = fc.record({
  schedule: fc.constantFrom('staffed', 'staffless', 'closed') as fc.Arbitrary<DecisionInput['schedule']>,
  policy: fc.record({
    staffedMode: fc.constantFrom('card', 'unlocked') as fc.Arbitrary<'card' | 'unlocked'>,
    requirePin: fc.boolean(),
    minAge: fc.constantFrom(0, 15),
    categoriesAllowedAlone: fc.constant(['LIB']),
    categoriesDenied: fc.constant(['INST']),
    offlinePolicy: fc.constantFrom('deny', 'allow_known') as fc.Arbitrary<'deny' | 'allow_known'>,
  }),
  pinGiven: fc.boolean(),
  lockedOut: fc.boolean(),
  patron,
  knownRecently: fc.boolean(),
  consent: fc.record({ agreement: consentState, camera: consentState, agreementVersion: fc.constant(null) }),
  year: fc.constant(2026),
  blockedLocally: fc.boolean(),
  pass: passFacts,
  emergency: fc.constantFrom(null, 'nobody', 'everybody') as fc.Arbitrary<DecisionInput['emergency']>,
});
const RUNS = { numRuns: 3000 };

describe('decide with the block list, passes and emergency modes (properties)', () => {
  it('a card blocked on the local list is never granted, whatever the other facts', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const decision = decide({ ...input, blockedLocally: true });
        expect(decision.allow).toBe(false);
        // Only an emergency closure speaks before the block.
        expect(decision.reason).toBe(input.emergency === 'nobody' ? 'emergency_closed' : 'blocked_locally');
      }),
      RUNS,
    );
  });

  it('an expired pass is never granted, whatever the other facts', () => {
    fc.assert(
      fc.property(anyInput, passFacts, (input, pass) => {
        expect(
          decide({
            ...input,
            pass: {
              ...(pass ?? { forThisDoor: true, insideHours: true, cameraConsentRequired: false }),
              expired: true,
            },
          }).allow,
        ).toBe(false);
      }),
      RUNS,
    );
  });

  it('a card the library system reports blocked, lost or expired is never granted, in any mode', () => {
    fc.assert(
      fc.property(anyInput, fc.constantFrom('blocked', 'cardLost', 'expired'), (input, bad) => {
        const lookup = input.patron;
        // A pass holder is not looked up in the library system (docs/local-access.md); the rest always are.
        fc.pre(input.pass === null && lookup.status === 'ok' && lookup.standing.known);
        if (lookup.status !== 'ok') return;
        const decision = decide({
          ...input,
          patron: { ...lookup, standing: { ...lookup.standing, [bad]: true } },
        });
        expect(decision.allow).toBe(false);
      }),
      RUNS,
    );
  });

  it('a pass grants only at its doors, inside its hours, before its expiry, never over a block', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        fc.pre(input.pass !== null && input.emergency === null);
        const pass = input.pass!;
        const decision = decide(input);
        if (decision.allow) {
          expect(decision.reason).toBe('allow_pass');
          expect(pass.expired || !pass.forThisDoor || !pass.insideHours || input.blockedLocally).toBe(false);
          if (pass.cameraConsentRequired) expect(input.consent.camera).toBe('signed');
          expect(input.consent.camera).not.toBe('withdrawn');
          expect(input.consent.agreement).not.toBe('withdrawn');
        }
      }),
      RUNS,
    );
  });

  it('emergency nobody never grants', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        expect(decide({ ...input, emergency: 'nobody' })).toEqual({
          allow: false,
          reason: 'emergency_closed',
        });
      }),
      RUNS,
    );
  });

  it('emergency everybody grants every readable card not refused by the site or known bad', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const decision = decide({ ...input, emergency: 'everybody' });
        const knownBad =
          input.patron.status === 'ok' &&
          input.patron.standing.known &&
          (input.patron.standing.blocked || input.patron.standing.cardLost || input.patron.standing.expired);
        const refusedHere = input.blockedLocally || input.pass?.expired === true;
        expect(decision.allow).toBe(!knownBad && !refusedHere);
        if (decision.allow) expect(decision.reason).toBe('allow_emergency');
      }),
      RUNS,
    );
  });

  it('without blocks, passes or emergencies the decisions are exactly as before (no new reason appears)', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const decision = decide({ ...input, blockedLocally: false, pass: null, emergency: null });
        expect([
          'allow_pass',
          'allow_emergency',
          'blocked_locally',
          'pass_expired',
          'outside_pass_hours',
          'pass_wrong_door',
          'emergency_closed',
        ]).not.toContain(decision.reason);
      }),
      RUNS,
    );
  });
});
