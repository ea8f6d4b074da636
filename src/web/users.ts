import argon2 from 'argon2';
import { audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';
import { clearLoginFailures } from './login-guard.ts';

export type Role = 'staff' | 'admin';
export type Language = 'nb' | 'da' | 'en';
export const ROLES: readonly Role[] = ['staff', 'admin'];
export const LANGUAGES: readonly Language[] = ['nb', 'da', 'en'];
export const MIN_PASSWORD_LENGTH = 12;

export interface WebUser {
  id: number;
  name: string;
  role: Role;
  language: Language;
  /** A new alarm plays a sound on this user's open dashboard pages. */
  sound: boolean;
  disabled: boolean;
  createdAt: number;
  lastLoginAt: number | null;
}

export class UserError extends Error {
  override name = 'UserError';
}

const USER_COLUMNS =
  'id, name, role, language, sound, disabled, created_at AS createdAt, last_login_at AS lastLoginAt';

type UserRow = Omit<WebUser, 'disabled' | 'sound'> & { disabled: number; sound: number };
const toUser = (row: UserRow): WebUser => ({ ...row, sound: row.sound === 1, disabled: row.disabled === 1 });

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new UserError(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (new Set(password).size < 4) throw new UserError('password is too repetitive');
}

export function checkUserName(name: string): void {
  if (!/^[\p{L}\p{N}._@-]{2,64}$/u.test(name)) {
    throw new UserError('user name: 2-64 letters, digits or . _ @ -');
  }
}

/** OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): sound, and quick enough on a small board. */
export const hashPassword = (password: string): Promise<string> =>
  argon2.hash(password, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });

export async function addUser(
  db: Db,
  input: { name: string; role: Role; password: string; language: Language },
): Promise<WebUser> {
  checkUserName(input.name);
  if (!ROLES.includes(input.role)) throw new UserError(`role must be one of ${ROLES.join(', ')}`);
  if (!LANGUAGES.includes(input.language))
    throw new UserError(`language must be one of ${LANGUAGES.join(', ')}`);
  checkPassword(input.password);
  if (findUserByName(db, input.name)) throw new UserError(`user "${input.name}" exists already`);
  const hash = await hashPassword(input.password);
  const id = Number(
    db
      .prepare(
        'INSERT INTO web_users (name, role, password_hash, language, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(input.name, input.role, hash, input.language, Date.now()).lastInsertRowid,
  );
  return getUser(db, id)!;
}

export function getUser(db: Db, id: number): WebUser | undefined {
  const row = db.prepare(`SELECT ${USER_COLUMNS} FROM web_users WHERE id = ?`).get(id) as UserRow | undefined;
  return row ? toUser(row) : undefined;
}

export function findUserByName(db: Db, name: string): WebUser | undefined {
  const row = db.prepare(`SELECT ${USER_COLUMNS} FROM web_users WHERE name = ?`).get(name) as
    | UserRow
    | undefined;
  return row ? toUser(row) : undefined;
}

export function listUsers(db: Db): WebUser[] {
  return (db.prepare(`SELECT ${USER_COLUMNS} FROM web_users ORDER BY name`).all() as UserRow[]).map(toUser);
}

// Verifying against this when the user is unknown keeps the answer time the same, so names cannot be probed.
let dummyHash: Promise<string> | undefined;

/** The user when the password matches and the user is enabled; otherwise undefined. */
export async function verifyUser(db: Db, name: string, password: string): Promise<WebUser | undefined> {
  const row = db
    .prepare(`SELECT ${USER_COLUMNS}, password_hash AS passwordHash FROM web_users WHERE name = ?`)
    .get(name) as (UserRow & { passwordHash: string }) | undefined;
  if (!row) {
    dummyHash ??= hashPassword('dorvakt-no-such-user-password');
    await argon2.verify(await dummyHash, password).catch(() => false);
    return undefined;
  }
  const ok = await argon2.verify(row.passwordHash, password).catch(() => false);
  if (!ok || row.disabled === 1) return undefined;
  db.prepare('UPDATE web_users SET last_login_at = ? WHERE id = ?').run(Date.now(), row.id);
  const { passwordHash: _omit, ...user } = row;
  return toUser(user);
}

export async function setPassword(db: Db, id: number, password: string): Promise<void> {
  checkPassword(password);
  const hash = await hashPassword(password);
  db.transaction(() => {
    db.prepare('UPDATE web_users SET password_hash = ? WHERE id = ?').run(hash, id);
    // A new password ends every session of that user, and its failed logins say nothing any more.
    db.prepare('DELETE FROM web_sessions WHERE user_id = ?').run(id);
    const user = getUser(db, id);
    if (user) clearLoginFailures(db, user.name);
  })();
}

/** `user unlock`: forgets a user's failed logins from every address, so no wait is left. Returns rows cleared. */
export function unlockUser(db: Db, name: string, actor: string): number {
  const user = findUserByName(db, name);
  if (!user) throw new UserError(`no user "${name}"`);
  return db.transaction(() => {
    const cleared = clearLoginFailures(db, user.name);
    audit(db, { actor, action: 'user.unlock', subject: user.name, detail: { cleared } });
    return cleared;
  })();
}

const activeAdmins = (db: Db): number =>
  (
    db.prepare("SELECT COUNT(*) AS n FROM web_users WHERE role = 'admin' AND disabled = 0").get() as {
      n: number;
    }
  ).n;

export function setRole(db: Db, id: number, role: Role): void {
  if (!ROLES.includes(role)) throw new UserError(`role must be one of ${ROLES.join(', ')}`);
  const user = getUser(db, id);
  if (!user) throw new UserError('no such user');
  if (user.role === 'admin' && role !== 'admin' && !user.disabled && activeAdmins(db) <= 1) {
    throw new UserError('the last admin cannot be demoted');
  }
  db.prepare('UPDATE web_users SET role = ? WHERE id = ?').run(role, id);
}

export function setDisabled(db: Db, id: number, disabled: boolean): void {
  const user = getUser(db, id);
  if (!user) throw new UserError('no such user');
  if (disabled && user.role === 'admin' && !user.disabled && activeAdmins(db) <= 1) {
    throw new UserError('the last admin cannot be disabled');
  }
  db.transaction(() => {
    db.prepare('UPDATE web_users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, id);
    if (disabled) db.prepare('DELETE FROM web_sessions WHERE user_id = ?').run(id);
  })();
}

export function setLanguage(db: Db, id: number, language: Language): void {
  if (!LANGUAGES.includes(language)) throw new UserError(`language must be one of ${LANGUAGES.join(', ')}`);
  db.prepare('UPDATE web_users SET language = ? WHERE id = ?').run(language, id);
}

/** The user's own dashboard settings (the settings page). */
export function setPreferences(db: Db, id: number, input: { language: Language; sound: boolean }): void {
  if (!LANGUAGES.includes(input.language))
    throw new UserError(`language must be one of ${LANGUAGES.join(', ')}`);
  db.prepare('UPDATE web_users SET language = ?, sound = ? WHERE id = ?').run(
    input.language,
    input.sound ? 1 : 0,
    id,
  );
}

export interface Output {
  write(text: string): unknown;
}

const USAGE = `usage:
  dorvakt user add NAME [--role staff|admin] [--language nb|da|en]
  dorvakt user passwd NAME           (also clears the user's failed logins)
  dorvakt user unlock NAME           forget the user's failed logins from every address
  dorvakt user disable NAME | enable NAME
  dorvakt user list
The password comes from DORVAKT_NEW_PASSWORD or is asked for on a terminal (at least ${MIN_PASSWORD_LENGTH} characters).
`;

/** `dorvakt user …`. Returns the exit code. */
export async function runUserCommand(
  argv: string[],
  deps: { db: Db; actor?: string },
  out: Output,
  readPassword?: () => Promise<string>,
): Promise<number> {
  const [command, ...rest] = argv;
  const actor = deps.actor ?? 'cli';
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg.startsWith('--')) {
      const value = rest[i + 1];
      if (value === undefined) {
        out.write(`missing value for ${arg}\n${USAGE}`);
        return 2;
      }
      flags.set(arg.slice(2), value);
      i++;
    } else positional.push(arg);
  }
  const getPassword = async (): Promise<string | undefined> => {
    const fromEnv = process.env['DORVAKT_NEW_PASSWORD'];
    if (fromEnv) return fromEnv;
    if (readPassword) return readPassword();
    if (process.stdin.isTTY) return promptHidden('New password: ');
    out.write('no password: set DORVAKT_NEW_PASSWORD or run on a terminal\n');
    return undefined;
  };
  try {
    switch (command) {
      case 'add': {
        const name = positional[0];
        const unknown = [...flags.keys()].filter((k) => k !== 'role' && k !== 'language');
        if (!name || positional.length > 1 || unknown.length > 0) break;
        const password = await getPassword();
        if (password === undefined) return 1;
        const user = await addUser(deps.db, {
          name,
          role: (flags.get('role') ?? 'staff') as Role,
          language: (flags.get('language') ?? 'nb') as Language,
          password,
        });
        out.write(`user ${user.name} added (${user.role}, ${user.language})\n`);
        return 0;
      }
      case 'passwd': {
        const user = positional[0] ? findUserByName(deps.db, positional[0]) : undefined;
        if (!positional[0]) break;
        if (!user) throw new UserError(`no user "${positional[0]}"`);
        const password = await getPassword();
        if (password === undefined) return 1;
        await setPassword(deps.db, user.id, password);
        audit(deps.db, { actor, action: 'user.password', subject: user.name });
        out.write(`password of ${user.name} changed; their sessions ended, failed logins cleared\n`);
        return 0;
      }
      case 'unlock': {
        if (!positional[0] || positional.length > 1) break;
        const cleared = unlockUser(deps.db, positional[0], actor);
        out.write(
          `failed logins of ${positional[0]} cleared (${cleared} address${cleared === 1 ? '' : 'es'})\n`,
        );
        return 0;
      }
      case 'disable':
      case 'enable': {
        if (!positional[0]) break;
        const user = findUserByName(deps.db, positional[0]);
        if (!user) throw new UserError(`no user "${positional[0]}"`);
        setDisabled(deps.db, user.id, command === 'disable');
        out.write(`user ${user.name} ${command}d\n`);
        return 0;
      }
      case 'list': {
        for (const u of listUsers(deps.db)) {
          out.write(`${u.name}\t${u.role}\t${u.language}${u.disabled ? '\tdisabled' : ''}\n`);
        }
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof UserError) {
      out.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  out.write(USAGE);
  return 2;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stdout.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const done = (result: string | Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stdout.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(value);
        if (ch === '\u0003') return done(new UserError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
