import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginLockout } from '../../src/web/sessions.ts';
import {
  ADMIN,
  cookieHeader,
  cookiesFrom,
  form,
  type Harness,
  login,
  STAFF,
  startHarness,
} from './fixtures.ts';

async function attempt(h: Harness, name: string, password: string, ip: string) {
  const page = await h.app.inject({ method: 'GET', url: '/login', remoteAddress: ip });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return h.app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: ip,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: cookieHeader(cookiesFrom(page.headers['set-cookie'])),
    },
    payload: form({ _csrf: token, name, password }),
  });
}

describe('login lockout', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      web: { login_lockout_attempts: 3, login_ip_lockout_attempts: 5, login_lockout_minutes: 15 },
    });
  });
  afterAll(async () => h?.close());

  it('locks a user out after N failures, even with the right password then, from any address', async () => {
    for (let i = 0; i < 3; i++)
      expect((await attempt(h, STAFF.name, 'wrong-password-xx', '10.0.0.1')).statusCode).toBe(401);
    const locked = await attempt(h, STAFF.name, STAFF.password, '10.0.0.2');
    expect(locked.statusCode).toBe(429);
    expect(locked.body).toContain('Too many failed attempts');
    expect(String(locked.headers['set-cookie'])).not.toContain('dorvakt_session=');
    // Another user is not affected by that user's lockout.
    expect((await attempt(h, ADMIN.name, ADMIN.password, '10.0.0.3')).statusCode).toBe(303);
    const rows = h.db
      .prepare("SELECT action, COUNT(*) AS n FROM audit WHERE actor = 'sven' GROUP BY action ORDER BY action")
      .all();
    expect(rows).toEqual([
      { action: 'web.login_failed', n: 3 },
      { action: 'web.login_locked', n: 1 },
    ]);
  });

  it('locks an address out after its limit, whatever user names it tries', async () => {
    const ip = '10.0.0.9';
    for (let i = 0; i < 5; i++)
      expect((await attempt(h, `nobody${i}`, 'wrong-password-xx', ip)).statusCode).toBe(401);
    expect((await attempt(h, ADMIN.name, ADMIN.password, ip)).statusCode).toBe(429);
    await expect(login(h.app, ADMIN, '10.0.0.10')).resolves.toMatchObject({ csrf: expect.any(String) });
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const unknown = await attempt(h, 'no-such-user', 'whatever-password', '10.0.1.1');
    const wrong = await attempt(h, ADMIN.name, 'whatever-password', '10.0.1.2');
    expect(unknown.statusCode).toBe(wrong.statusCode);
    expect(unknown.body.replace(/value="[^"]+"/g, '')).toBe(wrong.body.replace(/value="[^"]+"/g, ''));
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

  it('forgets failures once the lockout window has passed, and a success clears the user count', () => {
    const lockout = new LoginLockout(h.db, { userAttempts: 2, ipAttempts: 100, minutes: 10 });
    const t0 = 1_900_000_000_000;
    lockout.recordFailure('Kari', '10.1.1.1', t0);
    lockout.recordFailure('kari', '10.1.1.1', t0 + 1000);
    expect(lockout.isLocked('KARI', '10.1.1.2', t0 + 2000)).toBe(true);
    expect(lockout.isLocked('kari', '10.1.1.2', t0 + 10 * 60_000 + 1001)).toBe(false);
    lockout.recordFailure('kari', '10.1.1.1', t0 + 3000);
    lockout.recordSuccess('kari');
    lockout.recordFailure('kari', '10.1.1.1', t0 + 4000);
    expect(lockout.isLocked('kari', '10.1.1.2', t0 + 5000)).toBe(false);
  });
});
