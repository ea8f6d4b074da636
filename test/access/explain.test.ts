import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecisionInput, decide } from '../../src/access/decide.ts';
import { explain } from '../../src/access/explain.ts';

const consentState = fc.constantFrom('signed', 'none', 'withdrawn') as fc.Arbitrary<
  'signed' | 'none' | 'withdrawn'
>;

/** Every input decide can see: each schedule, policy, PIN, lockout, patron and consent combination. */
const anyInput: fc.Arbitrary<DecisionInput> = fc
  .record({
    schedule: fc.constantFrom('staffed', 'staffless', 'closed') as fc.Arbitrary<
      'staffed' | 'staffless' | 'closed'
    >,
    staffedMode: fc.constantFrom('card', 'unlocked') as fc.Arbitrary<'card' | 'unlocked'>,
    requirePin: fc.boolean(),
    minAge: fc.constantFrom(0, 15, 18),
    offline: fc.constantFrom('deny', 'allow_known') as fc.Arbitrary<'deny' | 'allow_known'>,
    pinGiven: fc.boolean(),
    lockedOut: fc.boolean(),
    available: fc.boolean(),
    source: fc.constantFrom('local', 'live', 'cache') as fc.Arbitrary<'local' | 'live' | 'cache'>,
    knownRecently: fc.boolean(),
    standing: fc.record({
      known: fc.boolean(),
      pinOk: fc.constantFrom(true, false, null),
      blocked: fc.boolean(),
      cardLost: fc.boolean(),
      expired: fc.boolean(),
      finesExceeded: fc.boolean(),
      category: fc.constantFrom(undefined, '', 'V', 'B', 'LIB', 'INST'),
      birthYear: fc.option(fc.integer({ min: 1990, max: 2026 }), { nil: undefined }),
    }),
    agreement: consentState,
    camera: consentState,
    year: fc.integer({ min: 2020, max: 2030 }),
    // The site's own rules, mostly absent so the patron checks get their share of the runs.
    blockedLocally: fc.oneof(
      { weight: 5, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    pass: fc.oneof(
      { weight: 3, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.record({
          expired: fc.boolean(),
          forThisDoor: fc.boolean(),
          insideHours: fc.boolean(),
          cameraConsentRequired: fc.boolean(),
        }),
      },
    ),
    emergency: fc.oneof(
      { weight: 6, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constant('nobody' as const) },
      { weight: 1, arbitrary: fc.constant('everybody' as const) },
    ),
  })
  .map((a) => ({
    schedule: a.schedule,
    policy: {
      staffedMode: a.staffedMode,
      requirePin: a.requirePin,
      minAge: a.minAge,
      categoriesAllowedAlone: ['LIB'],
      categoriesDenied: ['INST'],
      offlinePolicy: a.offline,
    },
    pinGiven: a.pinGiven,
    lockedOut: a.lockedOut,
    patron: a.available
      ? { status: 'ok' as const, source: a.source, standing: a.standing }
      : { status: 'unavailable' as const, error: 'timeout' },
    knownRecently: a.knownRecently,
    consent: { agreement: a.agreement, camera: a.camera, agreementVersion: null },
    year: a.year,
    blockedLocally: a.blockedLocally,
    pass: a.pass,
    emergency: a.emergency,
  }));

describe('explain: each check of a door decision on its own', () => {
  it("gives decide's verdict, no failing row when it allows, and its reason in a failing row when it refuses (property)", () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const { decision, checks } = explain(input);
        expect(decision).toEqual(decide(input));
        const failing = checks.filter((c) => c.status === 'fail');
        for (const row of checks) expect(row.reasons.length > 0).toBe(row.status === 'fail');
        if (decision.allow) expect(failing).toEqual([]);
        else {
          expect(failing.flatMap((c) => c.reasons)).toContain(decision.reason);
          expect(checks.filter((c) => c.decisive)).toHaveLength(1);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('names every problem, not only the first: a blocked card without camera consent shows both', () => {
    const input: DecisionInput = {
      schedule: 'staffless',
      policy: {
        staffedMode: 'card',
        requirePin: false,
        minAge: 15,
        categoriesAllowedAlone: [],
        categoriesDenied: [],
        offlinePolicy: 'deny',
      },
      pinGiven: false,
      lockedOut: false,
      patron: {
        status: 'ok',
        source: 'live',
        standing: {
          known: true,
          pinOk: null,
          blocked: true,
          cardLost: false,
          expired: false,
          finesExceeded: false,
          category: 'V',
          birthYear: 1990,
        },
      },
      knownRecently: false,
      consent: { agreement: 'signed', camera: 'none', agreementVersion: '1' },
      year: 2026,
      blockedLocally: false,
      pass: null,
      emergency: null,
    };
    const { decision, checks } = explain(input);
    expect(decision).toEqual({ allow: false, reason: 'blocked' });
    const byName = Object.fromEntries(checks.map((c) => [c.check, c]));
    expect(byName['local']).toMatchObject({ status: 'pass', reasons: [] });
    expect(byName['library']).toMatchObject({ status: 'fail', reasons: ['blocked'], decisive: true });
    expect(byName['camera']).toMatchObject({
      status: 'fail',
      reasons: ['no_camera_consent'],
      decisive: false,
    });
    expect(byName['agreement']).toMatchObject({ status: 'pass' });
    expect(byName['pin']).toMatchObject({ status: 'not_applied' });
    // In staffed hours the door does not ask for consent.
    const staffed = explain({ ...input, schedule: 'staffed' }).checks;
    expect(staffed.find((c) => c.check === 'camera')?.status).toBe('not_applied');
  });

  it('a pass replaces the patron checks: outside its hours is the local row, the library is not asked', () => {
    const { decision, checks } = explain({
      schedule: 'closed',
      policy: {
        staffedMode: 'card',
        requirePin: true,
        minAge: 15,
        categoriesAllowedAlone: [],
        categoriesDenied: [],
        offlinePolicy: 'deny',
      },
      pinGiven: false,
      lockedOut: false,
      patron: { status: 'unavailable', error: 'not asked' },
      knownRecently: false,
      consent: { agreement: 'none', camera: 'signed', agreementVersion: null },
      year: 2026,
      blockedLocally: false,
      pass: { expired: false, forThisDoor: true, insideHours: false, cameraConsentRequired: true },
      emergency: null,
    });
    expect(decision).toEqual({ allow: false, reason: 'outside_pass_hours' });
    const byName = Object.fromEntries(checks.map((c) => [c.check, c]));
    expect(byName['local']).toMatchObject({
      status: 'fail',
      reasons: ['outside_pass_hours'],
      decisive: true,
    });
    for (const name of ['schedule', 'pin', 'library', 'agreement'])
      expect(byName[name]?.status, name).toBe('not_applied');
    expect(byName['camera']?.status).toBe('pass');
  });
});
