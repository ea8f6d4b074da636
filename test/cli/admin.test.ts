import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runAdminCommand } from '../../src/cli/admin.ts';
import { loadConfig, readSecret } from '../../src/config/load.ts';
import { Consents } from '../../src/consent/consents.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { openDb } from '../../src/store/db.ts';
import { localDate } from '../../src/time/zone.ts';
import { LoginBackoff } from '../../src/web/login-guard.ts';
import { runUserCommand } from '../../src/web/users.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY = 'admin-cli-site-key-0123456789';
const hash = cardHasher(KEY);

describe('admin CLI: consent and local registry', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());
  const db = openDb(join(dir.path, 'store.sqlite'));
  const outLines: string[] = [];
  const errLines: string[] = [];
  const run = (...argv: string[]) =>
    runAdminCommand(argv, {
      db,
      hashCard: hash,
      doors: [{ reader: { card_pattern: '^[0-9]{8}$' } }],
      actor: 'cli:test',
      today: () => '2026-11-26',
      readStdin: () => '55554444\n',
      out: { write: (t: string) => outLines.push(t) },
      err: { write: (t: string) => errLines.push(t) },
    });

  it('refuses a card no door here would accept, and stores nothing', () => {
    const before = db.prepare('SELECT COUNT(*) FROM consents').pluck().get();
    expect(run('consent', 'sign', '--card', 'abc', '--kind', 'agreement', '--version', '2025-1')).toBe(2);
    expect(errLines.join('')).toMatch(/no door here accepts this card number/);
    expect(db.prepare('SELECT COUNT(*) FROM consents').pluck().get()).toBe(before);
  });

  it('signs and withdraws consent, audited, with the card only as a hash', () => {
    expect(run('consent', 'sign', '--card', '55554444', '--kind', 'agreement', '--version', '2025-1')).toBe(
      0,
    );
    expect(
      run(
        'consent',
        'sign',
        '--card',
        '-',
        '--kind',
        'camera',
        '--version',
        '2025-1',
        '--date',
        '2026-11-20',
      ),
    ).toBe(0);
    expect(new Consents(db).status(hash('55554444'))).toEqual({
      agreement: 'signed',
      camera: 'signed',
      agreementVersion: '2025-1',
    });
    expect(
      run(
        'consent',
        'withdraw',
        '--card',
        '55554444',
        '--kind',
        'camera',
        '--reason',
        'patron asked at the desk',
      ),
    ).toBe(0);
    expect(new Consents(db).status(hash('55554444')).camera).toBe('withdrawn');
    const audit = db.prepare('SELECT actor, action, subject, reason FROM audit ORDER BY id').all();
    expect(audit).toEqual([
      { actor: 'cli:test', action: 'consent.agreement.signed', subject: hash('55554444'), reason: null },
      { actor: 'cli:test', action: 'consent.camera.signed', subject: hash('55554444'), reason: null },
      {
        actor: 'cli:test',
        action: 'consent.camera.withdrawn',
        subject: hash('55554444'),
        reason: 'patron asked at the desk',
      },
    ]);
    expect(JSON.stringify(db.prepare('SELECT * FROM consents').all())).not.toContain('55554444');
  });

  it('refuses bad input with usage and exit 2, writing nothing', () => {
    const before = db.prepare('SELECT COUNT(*) FROM consents').pluck().get();
    expect(run('consent', 'sign', '--card', '1', '--kind', 'selfie', '--version', '1')).toBe(2);
    expect(run('consent', 'sign', '--card', '1', '--kind', 'camera')).toBe(2);
    expect(
      run('consent', 'sign', '--card', '1', '--kind', 'camera', '--version', '1', '--date', '26.11.2026'),
    ).toBe(2);
    expect(run('patron', 'add', '--card', '1', '--birth-year', 'old')).toBe(2);
    expect(run('consent', 'sign', '--kind', 'camera', '--version', '1')).toBe(2);
    expect(run('consent', 'sign', '--bogus')).toBe(2);
    expect(db.prepare('SELECT COUNT(*) FROM consents').pluck().get()).toBe(before);
  });

  it('registers a local patron', () => {
    expect(run('patron', 'add', '--card', '77778888', '--category', 'V', '--birth-year', '1990')).toBe(0);
    expect(
      db.prepare('SELECT category, birth_year FROM patrons WHERE card_hash = ?').get(hash('77778888')),
    ).toEqual({ category: 'V', birth_year: 1990 });
  });
});

// Each test spawns the CLI once (a tsx start): room for a loaded machine.
describe('dorvakt user / consent / report as commands', { timeout: 60_000 }, () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());
  const config = join(dir.path, 'dorvakt.yaml');
  writeFileSync(join(dir.path, 'key'), KEY);
  writeFileSync(
    config,
    `site: { id: cli }\nsecrets: { card_hmac_key: { file: key } }\ndoors:\n  - id: main\n    schedule: { staffless: "Mo-Su 07:00-22:00" }\n    reader: { path: /dev/null }\nstore: { path: store.sqlite }\n`,
  );
  const cli = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, ['bin/dorvakt.mjs', ...args], {
      encoding: 'utf8',
      input,
      env: { ...process.env, ...env },
    });
  /**
   * The same command in this process: the function bin/dorvakt.mjs calls, with what it passes (config,
   * store, keyed hash, environment). Each test keeps one real command; a spawn is a tsx start.
   */
  const inProcess = async (args: string[], input?: string, env: Record<string, string> = {}) => {
    const loaded = loadConfig(config);
    const db = openDb(loaded.store.path);
    let stdout = '';
    let stderr = '';
    const out = {
      write: (text: string) => {
        stdout += text;
      },
    };
    const err = {
      write: (text: string) => {
        stderr += text;
      },
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    try {
      const [command, ...rest] = args;
      const status =
        command === 'user'
          ? await runUserCommand(rest, { db, actor: 'cli:test' }, out)
          : await runAdminCommand(args, {
              db,
              hashCard: cardHasher(readSecret(loaded.secrets.card_hmac_key)),
              doors: loaded.doors,
              actor: 'cli:test',
              today: () => localDate(new Date(), loaded.site.timezone),
              readStdin: () => input ?? '',
              out,
              err,
            });
      return { status, stdout, stderr };
    } finally {
      vi.unstubAllEnvs();
      db.close();
    }
  };

  it('adds the first admin from the environment, refusing a weak password', async () => {
    expect(
      (
        await inProcess(['user', 'add', 'anne', '--role', 'admin'], '', {
          DORVAKT_NEW_PASSWORD: 'short',
        })
      ).status,
    ).toBe(1);
    const ok = cli(['user', 'add', 'anne', '--role', 'admin', '--config', config], '', {
      DORVAKT_NEW_PASSWORD: 'a long enough passphrase',
    });
    expect(ok.status).toBe(0);
    expect((await inProcess(['user', 'list'])).stdout).toContain('anne');
  });

  it("user unlock and user passwd clear a user's failed logins from every address; unlock is audited", async () => {
    const limits = { perName: 2, perAddress: 100, maxMinutes: 15 };
    const store = join(dir.path, 'store.sqlite');
    const fail = () => {
      const db = openDb(store);
      const backoff = new LoginBackoff(db, limits);
      for (const ip of ['10.0.0.1', '10.0.0.2'])
        for (let i = 0; i < 3; i++) backoff.recordFailure('Anne', ip);
      db.close();
    };
    const waits = () => {
      const db = openDb(store);
      const backoff = new LoginBackoff(db, limits);
      const result = ['10.0.0.1', '10.0.0.2'].map((ip) => backoff.waitMs('anne', ip) > 0);
      db.close();
      return result;
    };
    fail();
    expect(waits()).toEqual([true, true]);
    const unlock = cli(['user', 'unlock', 'ANNE', '--config', config]);
    expect(unlock.stderr).toBe('');
    expect(unlock.status).toBe(0);
    expect(unlock.stdout).toContain('cleared (2 addresses)');
    expect(waits()).toEqual([false, false]);
    const db = openDb(store);
    const row = db
      .prepare("SELECT actor, subject, detail FROM audit WHERE action = 'user.unlock' ORDER BY id DESC")
      .get() as { actor: string; subject: string; detail: string };
    db.close();
    expect(row).toMatchObject({ subject: 'anne', detail: '{"cleared":2}' });
    expect(row.actor).toMatch(/^cli:/);
    expect((await inProcess(['user', 'unlock', 'nobody'])).status).toBe(1);

    fail();
    const passwd = await inProcess(['user', 'passwd', 'anne'], '', {
      DORVAKT_NEW_PASSWORD: 'another long passphrase',
    });
    expect(passwd.status).toBe(0);
    expect(waits()).toEqual([false, false]);
  });

  it('signs consent with the card from stdin and prints the access report without the card number', async () => {
    expect(
      (
        await inProcess(
          ['consent', 'sign', '--card', '-', '--kind', 'agreement', '--version', '1'],
          '42424242\n',
        )
      ).status,
    ).toBe(0);
    const report = cli(
      ['report', '--card', '-', '--reason', 'patron request', '--config', config],
      '42424242\n',
    );
    expect(report.status).toBe(0);
    expect(report.stdout).toContain(hash('42424242'));
    expect(report.stdout).not.toMatch(/\b42424242\b/);
    expect(report.stdout).toContain('consent.agreement.signed');
  });
});
