import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer, webListenOptions } from '../../src/web/server.ts';
import { tempDir } from '../helpers/tmp.ts';
import { type Harness, startHarness } from './fixtures.ts';

function httpsGet(
  url: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listening: HTTPS with a certificate, loopback only without', () => {
  const dir = tempDir('dorvakt-tls-');
  let h: Harness;
  let url: string;

  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        `${dir.path}/key.pem`,
        '-out',
        `${dir.path}/cert.pem`,
      ],
      { stdio: 'ignore' },
    );
    h = await startHarness({
      web: { tls_cert_file: `${dir.path}/cert.pem`, tls_key_file: `${dir.path}/key.pem` },
    });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await h?.close();
    dir.cleanup();
  });

  it('serves HTTPS with Secure cookies, HSTS and upgrade-insecure-requests', async () => {
    const res = await httpsGet(`${url}/login`);
    expect(res.status).toBe(200);
    expect(String(res.headers['set-cookie'])).toMatch(/; Secure/);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=31536000/);
    expect(String(res.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
  });

  it('binds loopback instead of a network address when there is no certificate, and warns', async () => {
    expect(webListenOptions({ ...h.deps.config.web, tls_cert_file: undefined, host: '0.0.0.0' }).host).toBe(
      '127.0.0.1',
    );
    expect(webListenOptions({ ...h.deps.config.web, host: '0.0.0.0' })).toMatchObject({
      host: '0.0.0.0',
      tls: true,
    });
    expect(webListenOptions({ ...h.deps.config.web, tls_cert_file: undefined, host: '::1' }).host).toBe(
      '::1',
    );

    const plain = await startHarness();
    try {
      await plain.app.close();
      const deps = {
        ...plain.deps,
        config: { ...plain.deps.config, web: { ...plain.deps.config.web, host: '0.0.0.0', port: 0 } },
      };
      const started = await startWebServer(deps);
      try {
        expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(plain.logLines.join('')).toContain('dashboard without TLS: listening on loopback only');
        const health = await fetch(`${started.url}/healthz`);
        expect(await health.json()).toEqual({ ok: true });
      } finally {
        await started.app.close();
      }
    } finally {
      await plain.close();
    }
  });
});
