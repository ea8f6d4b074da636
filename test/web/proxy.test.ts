import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.ts';
import { ADMIN, form, type Harness, loginAttempt as attempt, startHarness, testConfig } from './fixtures.ts';

/** The address the server recorded for the last successful login of a user. */
const lastLoginIp = (h: Harness, user: string): string => {
  const row = h.db
    .prepare("SELECT detail FROM audit WHERE action = 'web.login' AND actor = ? ORDER BY id DESC LIMIT 1")
    .get(user) as { detail: string };
  return (JSON.parse(row.detail) as { ip: string }).ip;
};

const LIMITS = { login_lockout_attempts: 3, login_ip_lockout_attempts: 50 };

describe('web.trust_proxy: a hop count (fastify inject)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ web: { ...LIMITS, trust_proxy: 1 } });
  });
  afterAll(async () => h?.close());
  const PROXY = '10.9.0.1';

  it("takes the client address from the proxy's own (last) X-Forwarded-For entry", async () => {
    const res = await attempt(h, ADMIN.name, ADMIN.password, PROXY, {
      'x-forwarded-for': '6.6.6.6, 203.0.113.7',
    });
    expect(res.statusCode).toBe(303);
    expect(lastLoginIp(h, ADMIN.name)).toBe('203.0.113.7');
  });

  it('a client cannot pick its address with an extra entry: the attacker is slowed, the admin is not', async () => {
    // Behind the proxy the attacker is 203.0.113.66; it sends a new X-Forwarded-For of its own each time.
    for (let i = 0; i < 3; i++) {
      const res = await attempt(h, ADMIN.name, 'wrong-password-xx', PROXY, {
        'x-forwarded-for': `198.18.0.${i}, 203.0.113.66`,
      });
      expect(res.statusCode).toBe(401);
    }
    const slowed = await attempt(h, ADMIN.name, ADMIN.password, PROXY, {
      'x-forwarded-for': '198.18.0.99, 203.0.113.66',
    });
    expect(slowed.statusCode).toBe(429);
    const admin = await attempt(h, ADMIN.name, ADMIN.password, PROXY, { 'x-forwarded-for': '203.0.113.7' });
    expect(admin.statusCode).toBe(303);
  });
});

describe('web.trust_proxy: none (the default)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ web: LIMITS });
  });
  afterAll(async () => h?.close());

  it('ignores X-Forwarded-For: the address is the peer, whatever the header says', async () => {
    const ok = await attempt(h, ADMIN.name, ADMIN.password, '10.0.5.1', { 'x-forwarded-for': '203.0.113.7' });
    expect(ok.statusCode).toBe(303);
    expect(lastLoginIp(h, ADMIN.name)).toBe('10.0.5.1');
    for (let i = 0; i < 3; i++) {
      const res = await attempt(h, ADMIN.name, 'wrong-password-xx', '10.0.5.2', {
        'x-forwarded-for': `198.18.1.${i}`,
      });
      expect(res.statusCode).toBe(401);
    }
    const slowed = await attempt(h, ADMIN.name, ADMIN.password, '10.0.5.2', {
      'x-forwarded-for': '198.18.1.99',
    });
    expect(slowed.statusCode).toBe(429);
  });
});

/** Logs in over real HTTP through the login form, as a client behind a proxy on 127.0.0.1 would arrive. */
async function httpAttempt(base: string, name: string, password: string, forwardedFor: string) {
  const page = await fetch(`${base}/login`, { headers: { 'x-forwarded-for': forwardedFor } });
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const cookie = page.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': forwardedFor,
      cookie,
    },
    body: form({ _csrf: token, name, password }),
  });
  await res.arrayBuffer();
  return res.status;
}

const baseUrl = (h: Harness): string => {
  const address = h.app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
};

describe('web.trust_proxy over real HTTP', () => {
  it('with a hop count, failures from one forwarded client do not stop the admin behind the same proxy', async () => {
    const h = await startHarness({ listen: true, web: { ...LIMITS, trust_proxy: 1 } });
    try {
      const base = baseUrl(h);
      for (let i = 0; i < 3; i++)
        expect(await httpAttempt(base, ADMIN.name, 'wrong-password-xx', `1.2.3.${i}, 198.51.100.9`)).toBe(
          401,
        );
      expect(await httpAttempt(base, ADMIN.name, ADMIN.password, '1.2.3.99, 198.51.100.9')).toBe(429);
      expect(await httpAttempt(base, ADMIN.name, ADMIN.password, '198.51.100.7')).toBe(303);
      expect(lastLoginIp(h, ADMIN.name)).toBe('198.51.100.7');
    } finally {
      await h.close();
    }
  });

  it('with proxy addresses, the client is the first address past the trusted ones', async () => {
    const h = await startHarness({ listen: true, web: { ...LIMITS, trust_proxy: ['127.0.0.1/8', '::1'] } });
    try {
      expect(await httpAttempt(baseUrl(h), ADMIN.name, ADMIN.password, '6.6.6.6, 198.51.100.8')).toBe(303);
      expect(lastLoginIp(h, ADMIN.name)).toBe('198.51.100.8');
    } finally {
      await h.close();
    }
  });
});

describe('web.trust_proxy in the config', () => {
  const problems = (trustProxy: unknown): string[] => {
    try {
      testConfig({ trust_proxy: trustProxy });
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.map((p) => `${p.key}: ${p.message}`);
    }
  };

  it('accepts false, a hop count and addresses or CIDR ranges', () => {
    expect(problems(false)).toEqual([]);
    expect(problems(0)).toEqual([]);
    expect(problems(2)).toEqual([]);
    expect(problems(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', 'loopback'])).toEqual([]);
    expect(testConfig({}).web.trust_proxy).toBe(false);
  });

  it('true from an old config is read as loopback (the door must start); a dashboard handed true refuses it, saying what to give instead', async () => {
    expect(problems(true)).toEqual([]);
    expect(testConfig({ trust_proxy: true }).web.trust_proxy).toEqual(['loopback']);
    const base = testConfig();
    const refused = startHarness({ config: { ...base, web: { ...base.web, trust_proxy: true as never } } });
    await expect(refused).rejects.toThrow(/^web\.trust_proxy: true is no longer accepted/);
    await expect(refused).rejects.toThrow(/number of proxies .* their addresses/);
  });

  it('refuses what is not an address, a range or a count', () => {
    expect(problems(['10.0.0.0/33'])).toEqual([
      'web.trust_proxy.0: "10.0.0.0/33" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal',
    ]);
    expect(problems(['proxy.example'])).toHaveLength(1);
    expect(problems([])).toHaveLength(1);
    expect(problems(-1)).toHaveLength(1);
    expect(problems('127.0.0.1')).toHaveLength(1);
  });
});
