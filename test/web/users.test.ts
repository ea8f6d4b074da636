import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../src/store/db.ts';
import { addUser, findUserByName, runUserCommand, verifyUser } from '../../src/web/users.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('users and `dorvakt user`', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let output: string;
  const out = { write: (s: string) => (output += s) };
  beforeEach(() => {
    dir = tempDir('dorvakt-users-');
    db = openDb(`${dir.path}/d.sqlite`);
    output = '';
    delete process.env['DORVAKT_NEW_PASSWORD'];
  });
  afterEach(() => {
    delete process.env['DORVAKT_NEW_PASSWORD'];
    db.close();
    dir.cleanup();
  });

  it('adds the first admin with the password from the environment, stored as argon2id', async () => {
    process.env['DORVAKT_NEW_PASSWORD'] = 'a-good-long-password';
    expect(await runUserCommand(['add', 'ingrid', '--role', 'admin', '--language', 'da'], { db }, out)).toBe(
      0,
    );
    expect(output).toBe('user ingrid added (admin, da)\n');
    const row = db.prepare('SELECT password_hash FROM web_users WHERE name = ?').get('ingrid') as {
      password_hash: string;
    };
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain('a-good-long-password');
    expect(await verifyUser(db, 'INGRID', 'a-good-long-password')).toMatchObject({
      name: 'ingrid',
      role: 'admin',
      language: 'da',
    });
    expect(await verifyUser(db, 'ingrid', 'a-good-long-passworD')).toBeUndefined();
  });

  it('asks for the password through the prompt when no environment password is set', async () => {
    let asked = 0;
    const code = await runUserCommand(['add', 'ola'], { db }, out, async () => {
      asked++;
      return 'prompted-password-1';
    });
    expect(code).toBe(0);
    expect(asked).toBe(1);
    expect(findUserByName(db, 'ola')).toMatchObject({ role: 'staff', language: 'nb' });
  });

  it('refuses weak passwords, bad roles, duplicate names and missing arguments', async () => {
    const prompt = (pw: string) => async () => pw;
    expect(await runUserCommand(['add', 'a1', '--role', 'admin'], { db }, out, prompt('short'))).toBe(1);
    expect(output).toContain('at least 12 characters');
    expect(
      await runUserCommand(['add', 'a1', '--role', 'admin'], { db }, out, prompt('aaaaaaaaaaaaaaaa')),
    ).toBe(1);
    expect(
      await runUserCommand(['add', 'a1', '--role', 'root'], { db }, out, prompt('a-good-long-password')),
    ).toBe(1);
    expect(
      await runUserCommand(['add', 'a1', '--colour', 'red'], { db }, out, prompt('a-good-long-password')),
    ).toBe(2);
    expect(await runUserCommand(['add'], { db }, out)).toBe(2);
    expect(await runUserCommand([], { db }, out)).toBe(2);
    expect(findUserByName(db, 'a1')).toBeUndefined();
    await addUser(db, { name: 'a1', role: 'staff', password: 'a-good-long-password', language: 'en' });
    await expect(
      addUser(db, { name: 'A1', role: 'staff', password: 'a-good-long-password', language: 'en' }),
    ).rejects.toThrow(/exists/);
  });

  it('lists, disables (refusing the last admin), enables and resets passwords', async () => {
    await addUser(db, { name: 'boss', role: 'admin', password: 'boss-long-password', language: 'en' });
    await addUser(db, { name: 'desk', role: 'staff', password: 'desk-long-password', language: 'nb' });
    expect(await runUserCommand(['disable', 'boss'], { db }, out)).toBe(1);
    expect(output).toContain('last admin');
    expect(await runUserCommand(['disable', 'desk'], { db }, out)).toBe(0);
    expect(await verifyUser(db, 'desk', 'desk-long-password')).toBeUndefined();
    expect(await runUserCommand(['enable', 'desk'], { db }, out)).toBe(0);
    process.env['DORVAKT_NEW_PASSWORD'] = 'a-brand-new-password';
    expect(await runUserCommand(['passwd', 'desk'], { db }, out)).toBe(0);
    expect(await verifyUser(db, 'desk', 'a-brand-new-password')).toBeDefined();
    output = '';
    expect(await runUserCommand(['list'], { db }, out)).toBe(0);
    expect(output).toBe('boss\tadmin\ten\ndesk\tstaff\tnb\n');
  });
});
