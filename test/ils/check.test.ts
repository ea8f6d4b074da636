import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIlsCheck } from '../../src/cli/ils-check.ts';
import { type Sip2Simulator, startSip2Simulator } from '../../src/ils/simulator.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

async function check(argv: string[]) {
  const lines: string[] = [];
  const code = await runIlsCheck(argv, (line) => lines.push(line));
  return { code, lines, text: lines.join('\n'), last: lines.at(-1) };
}

describe('ils-check', () => {
  let sim: Sip2Simulator;
  const dir = tempDir('dorvakt-ils-check-');
  beforeAll(async () => {
    sim = await startSip2Simulator({ user: 'door', password: 'Pa55word', fault: { mode: 'crlf' } });
  });
  afterAll(async () => {
    await sim.close();
    dir.cleanup();
  });
  const flags = (card: string, pin?: string, extra: string[] = []) => [
    '--host',
    sim.host,
    '--port',
    String(sim.port),
    '--user',
    'door',
    '--password',
    'Pa55word',
    '--institution',
    'DEMO',
    '--card',
    card,
    ...(pin ? ['--pin', pin] : []),
    ...extra,
  ];

  it('flags form: prints the exchange with PIN and password redacted, the status, and the verdict last', async () => {
    const r = await check(flags('10000001', '9876'));
    expect(r.code).toBe(0);
    expect(r.last).toBe('bad_pin');
    expect(r.text).toMatch(/^→ 9300CNdoor\|CO\[redacted\]\|CP\|AY0AZ[0-9A-F]{4}$/m);
    expect(r.text).toMatch(/^← 941AY0AZFDFD$/m);
    expect(r.text).toMatch(/^→ 63.*AA10000001\|AC\|AD\[redacted\]\|/m);
    expect(r.text).toMatch(/^← 64.*BLY\|CQN\|/m);
    expect(r.text).toContain('patron: known=yes pin=wrong');
    expect(r.text).not.toContain('Pa55word');
    expect(r.text).not.toContain('9876');
  });

  it.each([
    ['10000001', '1234', 'allow'],
    ['10000003', '3456', 'blocked'],
    ['10000005', '5678', 'card_lost'],
    ['10000006', '6789', 'card_expired'],
    ['99999999', '1234', 'unknown_card'],
    ['10000004', undefined, 'allow'],
  ])('card %s pin %s → %s, exit 0', async (card, pin, verdict) => {
    const r = await check(flags(card, pin));
    expect(r.code).toBe(0);
    expect(r.last).toBe(verdict);
  });

  it('config form, with the password from a file and message 23', async () => {
    writeFileSync(join(dir.path, 'sip.pw'), 'Pa55word\n');
    const config = join(dir.path, 'dorvakt.yaml');
    writeFileSync(
      config,
      `site: { id: test }
secrets: { card_hmac_key: { env: DORVAKT_TEST_KEY } }
doors:
  - id: main
    schedule: { staffless: "Mo-Su 07:00-22:00" }
    reader: { profile: line, path: /dev/null }
patrons: { source: sip2 }
ils:
  host: ${sim.host}
  port: ${sim.port}
  institution: DEMO
  user: door
  password: { file: sip.pw }
  message: 23
  encoding: cp850
`,
    );
    const r = await check(['--config', config, '--card', '10000005', '--pin', '5678']);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/^→ 23/m);
    expect(r.text).toMatch(/^← 24/m);
    expect(r.last).toBe('card_lost');
    expect(r.text).not.toContain('Pa55word');
  });

  it('exit 3 with a clear message when nothing listens', async () => {
    const port = await freePort();
    const r = await check([
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--institution',
      'X',
      '--card',
      '1',
      '--pin',
      '1',
    ]);
    expect(r.code).toBe(3);
    expect(r.last).toMatch(/could not connect.*ECONNREFUSED/);
  });

  it('exit 4 when the login is refused', async () => {
    const r = await check(flags('10000001', '1234').map((a) => (a === 'Pa55word' ? 'wrong' : a)));
    expect(r.code).toBe(4);
    expect(r.last).toMatch(/could not log in/);
    expect(r.text).not.toContain('wrong|');
  });

  it('exit 5 when the patron request gets no answer', async () => {
    sim.setFault({ mode: 'silent', only: ['63'] });
    try {
      const r = await check(flags('10000001', '1234', ['--timeout', '300']));
      expect(r.code).toBe(5);
      expect(r.last).toMatch(/no answer/);
    } finally {
      sim.setFault({ mode: 'crlf' });
    }
  });

  it('exit 2 on usage errors', async () => {
    expect((await check([])).code).toBe(2);
    expect((await check(['--card', '1'])).code).toBe(2);
    expect((await check(['--card', '1', '--host', 'h', '--port', 'x', '--institution', 'I'])).code).toBe(2);
    expect((await check(['--bogus'])).code).toBe(2);
    expect((await check(['--config', join(dir.path, 'missing.yaml'), '--card', '1'])).code).toBe(2);
  });
});
