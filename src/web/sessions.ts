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
  /** Who wants to hear when a session ends in this process (open SSE streams), by session. */
  private readonly watchers = new Map<string, Set<() => void>>();

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

  /** Whether the session still exists and its user is enabled (for long-lived SSE streams). */
  alive(idHash: string, now = Date.now()): boolean {
    return this.expiresAt(idHash, now) !== undefined;
  }

  private expiresAt(idHash: string, now: number): number | undefined {
    const row = this.db
      .prepare(
        'SELECT s.expires_at AS expiresAt FROM web_sessions s JOIN web_users u ON u.id = s.user_id WHERE s.id_hash = ? AND u.disabled = 0',
      )
      .get(idHash) as { expiresAt: number } | undefined;
    return row && row.expiresAt > now ? row.expiresAt : undefined;
  }

  /**
   * Calls onEnd once when the session ends: at once on logout (destroy) or a recheck that finds it gone,
   * and when it expires. Returns a function that stops watching.
   */
  watch(idHash: string, onEnd: () => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    let watching = true;
    const stop = () => {
      if (!watching) return;
      watching = false;
      clearTimeout(timer);
      const set = this.watchers.get(idHash);
      set?.delete(fire);
      if (set?.size === 0) this.watchers.delete(idHash);
    };
    const fire = () => {
      if (!watching) return;
      stop();
      onEnd();
    };
    // Sliding expiry: when the timer fires, a session kept alive by other requests is simply re-armed.
    const arm = () => {
      const expiresAt = this.expiresAt(idHash, Date.now());
      if (expiresAt === undefined) return fire();
      timer = setTimeout(arm, expiresAt - Date.now() + 1);
      timer.unref();
    };
    const set = this.watchers.get(idHash) ?? new Set<() => void>();
    this.watchers.set(idHash, set);
    set.add(fire);
    arm();
    return stop;
  }

  /** Ends the watchers of every session that is gone (after an admin disabled a user, say). */
  recheck(now = Date.now()): void {
    for (const [idHash, set] of [...this.watchers]) {
      if (this.expiresAt(idHash, now) === undefined) for (const fire of [...set]) fire();
    }
  }

  destroy(idHash: string): void {
    this.db.prepare('DELETE FROM web_sessions WHERE id_hash = ?').run(idHash);
    for (const fire of [...(this.watchers.get(idHash) ?? [])]) fire();
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
