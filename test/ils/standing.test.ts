import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ilsConfigWithDefaults } from '../../src/ils/config.ts';
import type { PatronInfoReply } from '../../src/ils/messages.ts';
import { standingFromPatronInfo, verdictFromStanding } from '../../src/ils/standing.ts';

const rules = ilsConfigWithDefaults({ host: 'h', port: 1, institution: 'I' });
const now = new Date(2026, 10, 26, 12, 0, 0);
const reply = (fields: Array<[string, string]>, patronStatus = ' '.repeat(14)): PatronInfoReply => ({
  patronStatus,
  fields,
  card: '1',
});
const verdict = (r: PatronInfoReply, pin: boolean, config = rules) =>
  verdictFromStanding(standingFromPatronInfo(r, config, pin, now), pin);

describe('standingFromPatronInfo / verdictFromStanding', () => {
  it('allows only on BL=Y and, with a PIN, CQ=Y', () => {
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['CQ', 'Y'],
        ]),
        true,
      ),
    ).toBe('allow');
    expect(verdict(reply([['BL', 'Y']]), false)).toBe('allow');
    expect(
      verdict(
        reply([
          ['BL', 'N'],
          ['CQ', 'Y'],
        ]),
        true,
      ),
    ).toBe('unknown_card');
    expect(verdict(reply([['CQ', 'Y']]), true)).toBe('unknown_card');
    expect(verdict(reply([['BL', 'y']]), false)).toBe('unknown_card');
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['CQ', 'N'],
        ]),
        true,
      ),
    ).toBe('bad_pin');
    // A missing CQ is a failure when a PIN was given.
    expect(verdict(reply([['BL', 'Y']]), true)).toBe('bad_pin');
  });

  it('ignores CQ when no PIN was given (pinOk null)', () => {
    expect(
      standingFromPatronInfo(
        reply([
          ['BL', 'Y'],
          ['CQ', 'N'],
        ]),
        rules,
        false,
        now,
      ).pinOk,
    ).toBeNull();
  });

  it('maps the default status positions: 0 → blocked, 4 → card_lost; others do not deny', () => {
    expect(verdict(reply([['BL', 'Y']], 'Y             '), false)).toBe('blocked');
    expect(verdict(reply([['BL', 'Y']], '    Y         '), false)).toBe('card_lost');
    expect(verdict(reply([['BL', 'Y']], ' YYY YYYYYYYYY'), false)).toBe('allow');
  });

  it('honours configured status positions', () => {
    const config = { ...rules, status_deny: { '5': 'blocked', '10': 'fines', '13': 'expired' } as const };
    expect(verdict(reply([['BL', 'Y']], 'Y   Y         '), false, config)).toBe('allow');
    expect(verdict(reply([['BL', 'Y']], '     Y        '), false, config)).toBe('blocked');
    expect(verdict(reply([['BL', 'Y']], '          Y   '), false, config)).toBe('fines');
    expect(verdict(reply([['BL', 'Y']], '             Y'), false, config)).toBe('card_expired');
  });

  it('treats a short status as denying (fails closed)', () => {
    expect(verdict(reply([['BL', 'Y']], '  '), false)).toBe('card_lost');
  });

  it('compares fees (BV) with the limit only when a limit is set', () => {
    const limited = { ...rules, fines_limit: 100 };
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['BV', '450.00'],
        ]),
        false,
      ),
    ).toBe('allow');
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['BV', '450.00'],
        ]),
        false,
        limited,
      ),
    ).toBe('fines');
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['BV', '100,00'],
        ]),
        false,
        limited,
      ),
    ).toBe('allow');
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['BV', '-120.50'],
        ]),
        false,
        limited,
      ),
    ).toBe('fines');
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['BV', 'lots'],
        ]),
        false,
        limited,
      ),
    ).toBe('fines');
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['BV', ''],
        ]),
        false,
        limited,
      ),
    ).toBe('allow');
  });

  it('reads expiry, birth year and category from configurable fields', () => {
    const r = reply([
      ['BL', 'Y'],
      ['PA', '20261125'],
      ['PB', '20160101'],
      ['PC', ' B '],
    ]);
    expect(standingFromPatronInfo(r, rules, false, now)).toEqual({
      known: true,
      pinOk: null,
      blocked: false,
      cardLost: false,
      expired: true,
      finesExceeded: false,
      category: 'B',
      birthYear: 2016,
    });
    expect(
      verdict(
        reply([
          ['BL', 'Y'],
          ['PA', '20261126'],
        ]),
        false,
      ),
    ).toBe('allow');
    const evergreenish = { ...rules, fields: { expiry: 'PE', birth_date: 'PD', category: 'PT' } };
    const s = standingFromPatronInfo(
      reply([
        ['BL', 'Y'],
        ['PE', '2020-01-01'],
        ['PD', '19900101'],
        ['PT', 'Adult'],
      ]),
      evergreenish,
      false,
      now,
    );
    expect(s).toMatchObject({ expired: true, birthYear: 1990, category: 'Adult' });
    // Unreadable or future birth dates are dropped rather than guessed.
    expect(
      standingFromPatronInfo(
        reply([
          ['BL', 'Y'],
          ['PB', 'n/a'],
        ]),
        rules,
        false,
        now,
      ).birthYear,
    ).toBeUndefined();
    expect(
      standingFromPatronInfo(
        reply([
          ['BL', 'Y'],
          ['PB', '20991231'],
        ]),
        rules,
        false,
        now,
      ).birthYear,
    ).toBeUndefined();
  });

  it('checks the unknown card and the PIN before anything else', () => {
    expect(verdict(reply([['BL', 'N']], 'Y   Y         '), true)).toBe('unknown_card');
    expect(
      verdict(
        reply(
          [
            ['BL', 'Y'],
            ['CQ', 'N'],
          ],
          'Y   Y         ',
        ),
        true,
      ),
    ).toBe('bad_pin');
    expect(
      verdict(
        reply(
          [
            ['BL', 'Y'],
            ['CQ', 'Y'],
          ],
          'Y   Y         ',
        ),
        true,
      ),
    ).toBe('card_lost');
  });
});

describe('ils config section', () => {
  const base = `
site: { id: test }
secrets: { card_hmac_key: { env: KEY } }
doors:
  - id: main
    schedule: { staffless: "Mo-Su 07:00-22:00" }
    reader: { profile: line, path: /dev/null }
patrons: { source: sip2 }
`;
  it('fills every default', () => {
    const config = parseConfig(
      `${base}ils: { host: koha.example, port: 6001, institution: MAIN, user: door, password: { env: SIP_PW } }\n`,
    );
    expect(config.ils).toEqual(
      ilsConfigWithDefaults({
        host: 'koha.example',
        port: 6001,
        institution: 'MAIN',
        user: 'door',
        password: { env: 'SIP_PW' },
      }),
    );
  });

  it('names the key of a bad value', () => {
    const bad = `${base}ils: { host: h, port: 1, institution: I, encoding: ebcdic, status_deny: { "14": blocked }, fields: { expiry: toolong } }\n`;
    let problems: Array<{ key: string }> = [];
    try {
      parseConfig(bad);
    } catch (error) {
      problems = (error as { problems: Array<{ key: string }> }).problems;
    }
    const keys = problems.map((p) => p.key);
    expect(keys).toContain('ils.encoding');
    expect(keys).toContain('ils.status_deny.14');
    expect(keys).toContain('ils.fields.expiry');
  });

  it('wants a client key with a client certificate', () => {
    expect(() =>
      parseConfig(
        `${base}ils: { host: h, port: 1, institution: I, tls: { enabled: true, cert_file: c.pem } }\n`,
      ),
    ).toThrow(/ils\.tls.*key_file/);
  });
});
