import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/db.ts';
import { getUser, type WebUser } from './users.ts';

export interface Session {
  idHash: string;
  user: WebUser;
  csrfToken: string;
  expiresAt: number;
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Server-side sessions: the cookie holds 32 random bytes, the store only their SHA-256. */
export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  /** Returns the cookie value; it is never stored. */
  create(userId: number, now = Date.now()): { id: string; csrfToken: string } {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    this.db
      .prepare(
        'INSERT INTO web_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(sha256(id), userId, csrfToken, now, now, now + this.ttlMs);
    return { id, csrfToken };
  }

  /** The live session for a cookie value, sliding its expiry; undefined when unknown, expired or the user is disabled. */
  get(id: string | undefined, now = Date.now()): Session | undefined {
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const idHash = sha256(id);
    const row = this.db
      .prepare(
        'SELECT user_id AS userId, csrf_token AS csrfToken, last_seen_at AS lastSeenAt, expires_at AS expiresAt FROM web_sessions WHERE id_hash = ?',
      )
      .get(idHash) as
      | { userId: number; csrfToken: string; lastSeenAt: number; expiresAt: number }
      | undefined;
    if (!row) return undefined;
    if (row.expiresAt <= now) {
      this.db.prepare('DELETE FROM web_sessions WHERE id_hash = ?').run(idHash);
      return undefined;
    }
    const user = getUser(this.db, row.userId);
    if (!user || user.disabled) return undefined;
    let expiresAt = row.expiresAt;
    // Slide at most once a minute: no write per request.
    if (now - row.lastSeenAt > 60_000) {
      expiresAt = now + this.ttlMs;
      this.db
        .prepare('UPDATE web_sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?')
        .run(now, expiresAt, idHash);
    }
    return { idHash, user, csrfToken: row.csrfToken, expiresAt };
  }

  /** Whether the session still exists (for long-lived SSE streams). */
  alive(idHash: string, now = Date.now()): boolean {
    const row = this.db
      .prepare('SELECT expires_at AS expiresAt FROM web_sessions WHERE id_hash = ?')
      .get(idHash) as { expiresAt: number } | undefined;
    return row !== undefined && row.expiresAt > now;
  }

  destroy(idHash: string): void {
    this.db.prepare('DELETE FROM web_sessions WHERE id_hash = ?').run(idHash);
  }

  prune(now = Date.now()): number {
    return this.db.prepare('DELETE FROM web_sessions WHERE expires_at <= ?').run(now).changes;
  }
}

export function tokensEqual(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Counts failed logins per user name and per client address; either one over its limit locks logins out. */
export class LoginLockout {
  constructor(
    private readonly db: Db,
    private readonly limits: { userAttempts: number; ipAttempts: number; minutes: number },
  ) {}

  private count(kind: 'user' | 'ip', key: string, now: number): number {
    const since = now - this.limits.minutes * 60_000;
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM web_login_failures WHERE kind = ? AND key = ? AND ts > ?')
        .get(kind, key, since) as {
        n: number;
      }
    ).n;
  }

  isLocked(userName: string, ip: string, now = Date.now()): boolean {
    return (
      this.count('user', userName.toLowerCase(), now) >= this.limits.userAttempts ||
      this.count('ip', ip, now) >= this.limits.ipAttempts
    );
  }

  recordFailure(userName: string, ip: string, now = Date.now()): void {
    const insert = this.db.prepare('INSERT INTO web_login_failures (kind, key, ts) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      insert.run('user', userName.toLowerCase().slice(0, 64), now);
      insert.run('ip', ip, now);
      // Old failures say nothing any more.
      this.db.prepare('DELETE FROM web_login_failures WHERE ts <= ?').run(now - this.limits.minutes * 60_000);
    })();
  }

  /** A successful login forgets that user's failures (not the address's: a guesser may know one password). */
  recordSuccess(userName: string): void {
    this.db
      .prepare("DELETE FROM web_login_failures WHERE kind = 'user' AND key = ?")
      .run(userName.toLowerCase());
  }
}
