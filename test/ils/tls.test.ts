import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rig, rig } from './helpers.ts';
import { tempDir } from '../helpers/tmp.ts';
import { runIlsCheck } from '../../src/cli/ils-check.ts';
import { verdictFromStanding } from '../../src/ils/standing.ts';

/** A private CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with the openssl CLI. */
function makePki(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Dorvakt test CA',
  );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  );
  ssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'client.key',
    '-out',
    'client.csr',
    '-subj',
    '/CN=door-1',
  );
  ssl(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.pem',
    '-days',
    '2',
  );
  const file = (name: string) => join(dir, name);
  return { file, read: (name: string) => readFileSync(file(name)) };
}

describe('SIP2 over TLS (stunnel-style, private CA)', () => {
  const dir = tempDir('dorvakt-sip2-tls-');
  let pki: ReturnType<typeof makePki>;
  const rigs: Rig[] = [];
  beforeAll(() => {
    pki = makePki(dir.path);
  });
  afterAll(async () => {
    for (const r of rigs) await r.close();
    dir.cleanup();
  });

  const tlsRig = async (requestCert: boolean, tls: Partial<Rig['config']['tls']>) => {
    const r = await rig(
      {
        tls: {
          key: pki.read('server.key'),
          cert: pki.read('server.pem'),
          ca: pki.read('ca.pem'),
          requestCert,
        },
      },
      { tls: { enabled: true, reject_unauthorized: true, ...tls }, retries: 0 },
    );
    rigs.push(r);
    return r;
  };

  it('verifies the server against the CA file and answers', async () => {
    const { source } = await tlsRig(false, { ca_file: pki.file('ca.pem') });
    const lookup = await source.lookup('10000007', '7890');
    expect(lookup.status === 'ok' && verdictFromStanding(lookup.standing, true)).toBe('allow');
  });

  it('refuses a server it cannot verify (no CA given)', async () => {
    const { source, sim } = await tlsRig(false, {});
    const lookup = await source.lookup('10000001', '1234');
    expect(lookup).toMatchObject({
      status: 'unavailable',
      error: expect.stringMatching(/cannot connect.*(SELF_SIGNED|UNABLE_TO_VERIFY)/),
    });
    expect(sim.stats.logins).toBe(0);
  });

  it('refuses a certificate for another name', async () => {
    const { source } = await tlsRig(false, { ca_file: pki.file('ca.pem'), servername: 'ils.example.org' });
    expect(await source.lookup('10000001', '1234')).toMatchObject({
      status: 'unavailable',
      error: expect.stringMatching(/ALTNAME/),
    });
  });

  it('presents a client certificate when the server requires one', async () => {
    const without = await tlsRig(true, { ca_file: pki.file('ca.pem') });
    expect(await without.source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
    const withCert = await tlsRig(true, {
      ca_file: pki.file('ca.pem'),
      cert_file: pki.file('client.pem'),
      key_file: pki.file('client.key'),
    });
    const lookup = await withCert.source.lookup('10000003', '3456');
    expect(lookup.status === 'ok' && verdictFromStanding(lookup.standing, true)).toBe('blocked');
  });

  it('ils-check --tls --ca talks TLS; without the CA it cannot connect (exit 3)', async () => {
    const { sim } = await tlsRig(false, {});
    const args = ['--host', '127.0.0.1', '--port', String(sim.port), '--user', 'door', '--password', 'pw'];
    args.push('--institution', 'DEMO', '--card', '10000001', '--pin', '1234', '--tls');
    const lines: string[] = [];
    expect(await runIlsCheck([...args, '--ca', pki.file('ca.pem')], (l) => lines.push(l))).toBe(0);
    expect(lines[0]).toMatch(/^ils-check: tls 127\.0\.0\.1:/);
    expect(lines.at(-1)).toBe('allow');
    const failed: string[] = [];
    expect(await runIlsCheck(args, (l) => failed.push(l))).toBe(3);
    expect(failed.at(-1)).toMatch(/could not connect/);
  });
});
