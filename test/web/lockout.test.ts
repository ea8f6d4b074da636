import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_WINDOW_MS,
  addressBucket,
  countLoginFailure,
  MAX_AUDIT_WINDOWS,
  FIRST_DELAY_MS,
  FORGET_MS,
  flushLoginAudit,
  LoginBackoff,
} from '../../src/web/login-guard.ts';
import { createWebServer } from '../../src/web/server.ts';
import {
  ADMIN,
  form,
  type Harness,
  login,
  loginAttempt as attempt,
  STAFF,
  startHarness,
} from './fixtures.ts';

const loginAuditRows = (h: Harness) =>
  h.db
    .prepare("SELECT actor, action, subject, detail FROM audit WHERE action LIKE 'web.login%' ORDER BY id")
    .all() as { actor: string; action: string; subject: string | null; detail: string | null }[];

// Replaces the old lock per user name (N failures from anyone locked that name everywhere, even with the
// right password): that let anyone keep the admin out. Failures now slow down only their own address.
describe('login backoff per (user name, address)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      web: { login_lockout_attempts: 3, login_ip_lockout_attempts: 10, login_lockout_minutes: 15 },
    });
  });
  afterAll(async () => h?.close());

  it("an attacker's failures slow only the attacker's address; the admin logs in from another", async () => {
    for (let i = 0; i < 3; i++)
      expect((await attempt(h, ADMIN.name, 'wrong-password-xx', '10.0.0.1')).statusCode).toBe(401);
    // The attacker's address waits, and during the wait even the right password is refused.
    const slowed = await attempt(h, ADMIN.name, ADMIN.password, '10.0.0.1');
    expect(slowed.statusCode).toBe(429);
    expect(slowed.body).toContain('Too many failed attempts');
    expect(Number(slowed.headers['retry-after'])).toBeGreaterThan(0);
    expect(String(slowed.headers['set-cookie'])).not.toContain('dorvakt_session=');
    // The admin, elsewhere, is not affected.
    expect((await attempt(h, ADMIN.name, ADMIN.password, '10.0.0.2')).statusCode).toBe(303);
    // …and the admin's success does not free the attacker.
    expect((await attempt(h, ADMIN.name, 'another-guess-xx', '10.0.0.1')).statusCode).toBe(429);
    // Another name from the attacker's address is still free (its own pair, under the address limit).
    expect((await attempt(h, STAFF.name, STAFF.password, '10.0.0.1')).statusCode).toBe(303);
  });

  it('a restart does not reset an attacker: the waits are in the store', async () => {
    const again = await createWebServer(h.deps);
    try {
      const res = await attempt({ app: again }, ADMIN.name, ADMIN.password, '10.0.0.1');
      expect(res.statusCode).toBe(429);
    } finally {
      await again.close();
    }
  });

  it('an address that tries many names waits as a whole', async () => {
    const ip = '10.0.0.9';
    for (let i = 0; i < 10; i++)
      expect((await attempt(h, `nobody${i}`, 'wrong-password-xx', ip)).statusCode).toBe(401);
    expect((await attempt(h, ADMIN.name, ADMIN.password, ip)).statusCode).toBe(429);
    await expect(login(h.app, ADMIN, '10.0.0.10')).resolves.toMatchObject({ csrf: expect.any(String) });
  });

  it('answers an unknown user exactly like a wrong password, also once slowed', async () => {
    const unknown = await attempt(h, 'no-such-user', 'whatever-password', '10.0.1.1');
    const wrong = await attempt(h, ADMIN.name, 'whatever-password', '10.0.1.2');
    expect(unknown.statusCode).toBe(wrong.statusCode);
    expect(unknown.body.replace(/value="[^"]+"/g, '')).toBe(wrong.body.replace(/value="[^"]+"/g, ''));
    for (let i = 0; i < 3; i++) {
      await attempt(h, 'no-such-user', 'whatever-password', '10.0.1.1');
      await attempt(h, ADMIN.name, 'whatever-password', '10.0.1.2');
    }
    const slowedUnknown = await attempt(h, 'no-such-user', 'whatever-password', '10.0.1.1');
    const slowedKnown = await attempt(h, ADMIN.name, 'whatever-password', '10.0.1.2');
    expect([slowedUnknown.statusCode, slowedKnown.statusCode]).toEqual([429, 429]);
  });

  it('100 failed logins with made-up names from one address write a summary, never the names', async () => {
    const ip = '10.0.3.1';
    const names = Array.from({ length: 100 }, () => `x${randomBytes(6).toString('hex')}`);
    const before = loginAuditRows(h).length;
    let reached = 0;
    for (const name of names) {
      const res = await attempt(h, name, 'wrong-password-xx', ip);
      // The route's rate limit answers JSON; the login handler answers the login page.
      if (res.body.includes('<form')) reached++;
    }
    expect(reached).toBeGreaterThanOrEqual(30);
    flushLoginAudit(h.db, Date.now() + AUDIT_WINDOW_MS);
    const all = loginAuditRows(h).slice(before);
    const text = JSON.stringify(all);
    for (const name of names) expect(text).not.toContain(name);
    // Earlier tests' windows are flushed too; count this address's rows.
    const rows = all.filter((r) => r.detail?.includes(`"ip":"${ip}"`));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(3);
    const summary = rows.find((r) => r.action === 'web.login_failures')!;
    const detail = JSON.parse(summary.detail!) as { ip: string; failures: number; refused: number };
    expect(summary.actor).toBe('system');
    expect(detail.ip).toBe(ip);
    expect(detail.failures + detail.refused).toBe(reached);
  });

  it('names an existing user in the summary as stored, whatever the case typed', async () => {
    const ip = '10.0.3.2';
    await attempt(h, 'ANNE', 'wrong-password-xx', ip);
    flushLoginAudit(h.db, Date.now() + AUDIT_WINDOW_MS);
    const summary = loginAuditRows(h).find((r) => r.detail?.includes(`"ip":"${ip}"`))!;
    expect(JSON.parse(summary.detail!)).toMatchObject({ failures: 1, refused: 0, users: ['anne'] });
  });

  it('rate-limits login posts per address (30 a minute), whatever they carry', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 31; i++) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: '10.0.2.1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ name: 'x', password: 'y' }),
      });
      codes.push(res.statusCode);
    }
    expect(codes.slice(0, 30).every((c) => c === 403)).toBe(true);
    expect(codes[30]).toBe(429);
  });

  it('doubles the wait up to the cap, forgets a quiet pair, and a success clears only its own pair', () => {
    const backoff = new LoginBackoff(h.db, { perName: 2, perAddress: 100, maxMinutes: 10 });
    const t0 = 1_900_000_000_000;
    backoff.recordFailure('Kari', '10.1.1.1', t0);
    expect(backoff.waitMs('kari', '10.1.1.1', t0)).toBe(0);
    backoff.recordFailure('kari', '10.1.1.1', t0);
    expect(backoff.waitMs('KARI', '10.1.1.1', t0)).toBe(FIRST_DELAY_MS);
    expect(backoff.waitMs('kari', '10.1.1.2', t0)).toBe(0);
    backoff.recordFailure('kari', '10.1.1.1', t0);
    expect(backoff.waitMs('kari', '10.1.1.1', t0)).toBe(2 * FIRST_DELAY_MS);
    for (let i = 0; i < 10; i++) backoff.recordFailure('kari', '10.1.1.1', t0);
    expect(backoff.waitMs('kari', '10.1.1.1', t0)).toBe(10 * 60_000);
    // The same failures from a second address, then a success there: the first address still waits.
    backoff.recordFailure('kari', '10.1.1.2', t0);
    backoff.recordFailure('kari', '10.1.1.2', t0);
    backoff.recordSuccess('kari', '10.1.1.2');
    expect(backoff.waitMs('kari', '10.1.1.2', t0)).toBe(0);
    expect(backoff.waitMs('kari', '10.1.1.1', t0)).toBeGreaterThan(0);
    // A day of quiet starts the pair again from its free attempts.
    const later = t0 + FORGET_MS + 1;
    backoff.recordFailure('kari', '10.1.1.1', later);
    expect(backoff.waitMs('kari', '10.1.1.1', later)).toBe(0);
  });

  it('counts IPv6 addresses per /64 for the address-wide wait, each address for its own pairs', () => {
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:0db8:0001:0002:0:0:0:7')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(addressBucket('10.0.0.1')).toBe('10.0.0.1');
    const backoff = new LoginBackoff(h.db, { perName: 100, perAddress: 3, maxMinutes: 10 });
    const t0 = 1_900_000_000_000;
    for (let i = 1; i <= 3; i++) backoff.recordFailure(`name${i}`, `2001:db8:5:6::${i}`, t0);
    expect(backoff.waitMs('anyone', '2001:db8:5:6::99', t0)).toBe(FIRST_DELAY_MS);
    expect(backoff.waitMs('anyone', '2001:db8:5:7::1', t0)).toBe(0);
  });

  it('past its limit of open windows the audit counts further addresses together', () => {
    const t0 = 1_950_000_000_000;
    flushLoginAudit(h.db, t0, true);
    for (let i = 0; i < MAX_AUDIT_WINDOWS + 20; i++)
      countLoginFailure(h.db, { ip: `10.${i >> 8}.${i & 255}.7`, knownUser: undefined, refused: false }, t0);
    const before = loginAuditRows(h).length;
    expect(flushLoginAudit(h.db, t0 + AUDIT_WINDOW_MS)).toBe(MAX_AUDIT_WINDOWS + 1);
    const other = loginAuditRows(h)
      .slice(before)
      .find((r) => r.detail?.includes('"ip":"other"'))!;
    expect(JSON.parse(other.detail!)).toMatchObject({ failures: 20 });
  });
});
