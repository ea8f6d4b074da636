import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';

/** How failed logins slow down further attempts. */
export interface BackoffLimits {
  /** Failures of one user name from one address before that pair waits. */
  perName: number;
  /** Failures from one address, whatever the names, before the whole address waits. */
  perAddress: number;
  /** The longest wait. */
  maxMinutes: number;
}

/** The first wait; each further failure doubles it, up to maxMinutes. */
export const FIRST_DELAY_MS = 30_000;
/** A pair (or address) quiet this long starts again from its free attempts. */
export const FORGET_MS = 24 * 3_600_000;
/** Bounds the table against an attacker with many addresses; the stalest rows go first. */
export const MAX_BACKOFF_ROWS = 20_000;
/** Failed logins are summed per address over this window, then written as one audit row. */
export const AUDIT_WINDOW_MS = 10 * 60_000;
const MAX_AUDITED_USERS = 10;
/** Past this many addresses with an open window, further addresses share one ('other'): the audit stays small. */
export const MAX_AUDIT_WINDOWS = 500;

// The name as typed may be a password typed into the wrong box: only its hash is kept.
const nameKey = (name: string): string =>
  createHash('sha256').update(name.trim().toLowerCase()).digest('hex');
const ADDRESS_WIDE = '';

/** The client address as stored: anything that is not an IP address (a misconfigured proxy) is one bucket. */
export const clientAddress = (ip: string): string => (isIP(ip) ? ip : 'invalid');

/**
 * The address as one client: IPv6 per /64, since one host commonly holds a whole /64 and could otherwise
 * try from a fresh address each time.
 */
export function addressBucket(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  // An embedded IPv4 tail takes two groups; only the first four groups matter here.
  const width = (parts: string[]) => parts.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - width(left) - width(right)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export function delayAfter(failures: number, free: number, maxMs: number): number {
  if (failures < free) return 0;
  return Math.min(maxMs, FIRST_DELAY_MS * 2 ** Math.min(failures - free, 30));
}

/**
 * Exponential backoff per (user name, client address), and per address over all names. Failures from one
 * address never slow another address down, so nobody can lock a user out from elsewhere.
 */
export class LoginBackoff {
  constructor(
    private readonly db: Db,
    private readonly limits: BackoffLimits,
  ) {}

  /** 0 when an attempt may be checked now; otherwise how long this (name, address) must still wait. */
  waitMs(name: string, ip: string, now = Date.now()): number {
    const until = this.db.prepare(
      'SELECT blocked_until FROM web_login_backoff WHERE name_hash = ? AND ip = ? AND last_failure_at > ?',
    );
    const pair = until.pluck().get(nameKey(name), ip, now - FORGET_MS) as number | undefined;
    const wide = until.pluck().get(ADDRESS_WIDE, addressBucket(ip), now - FORGET_MS) as number | undefined;
    return Math.max(0, (pair ?? 0) - now, (wide ?? 0) - now);
  }

  recordFailure(name: string, ip: string, now = Date.now()): void {
    const maxMs = this.limits.maxMinutes * 60_000;
    const bump = this.db.prepare(
      `INSERT INTO web_login_backoff (name_hash, ip, failures, last_failure_at, blocked_until) VALUES (?, ?, 1, ?, 0)
       ON CONFLICT (name_hash, ip) DO UPDATE SET
         failures = CASE WHEN last_failure_at <= ? THEN 1 ELSE failures + 1 END,
         last_failure_at = excluded.last_failure_at
       RETURNING failures`,
    );
    const block = this.db.prepare(
      'UPDATE web_login_backoff SET blocked_until = ? WHERE name_hash = ? AND ip = ?',
    );
    this.db.transaction(() => {
      for (const [key, at, free] of [
        [nameKey(name), ip, this.limits.perName],
        [ADDRESS_WIDE, addressBucket(ip), this.limits.perAddress],
      ] as const) {
        const { failures } = bump.get(key, at, now, now - FORGET_MS) as { failures: number };
        block.run(now + delayAfter(failures, free, maxMs), key, at);
      }
      this.prune(now);
    })();
  }

  /** A success forgets that pair's failures, not the address's: a guesser may know one password. */
  recordSuccess(name: string, ip: string): void {
    this.db.prepare('DELETE FROM web_login_backoff WHERE name_hash = ? AND ip = ?').run(nameKey(name), ip);
  }

  prune(now = Date.now()): void {
    this.db.prepare('DELETE FROM web_login_backoff WHERE last_failure_at <= ?').run(now - FORGET_MS);
    const rows = this.db.prepare('SELECT COUNT(*) FROM web_login_backoff').pluck().get() as number;
    if (rows > MAX_BACKOFF_ROWS) {
      this.db
        .prepare(
          'DELETE FROM web_login_backoff WHERE (name_hash, ip) IN (SELECT name_hash, ip FROM web_login_backoff ORDER BY last_failure_at LIMIT ?)',
        )
        .run(rows - MAX_BACKOFF_ROWS);
    }
  }
}

/** Forgets a user name's failures from every address (`user unlock`, a new password). Returns the rows cleared. */
export function clearLoginFailures(db: Db, name: string): number {
  return db.prepare('DELETE FROM web_login_backoff WHERE name_hash = ?').run(nameKey(name)).changes;
}

interface AuditWindowRow {
  ip: string;
  started_at: number;
  failures: number;
  refused: number;
  users: string;
}

function writeSummary(db: Db, row: AuditWindowRow, now: number): void {
  audit(
    db,
    {
      actor: 'system',
      action: 'web.login_failures',
      detail: {
        ip: row.ip,
        failures: row.failures,
        refused: row.refused,
        users: JSON.parse(row.users) as string[],
        from: new Date(row.started_at).toISOString(),
        to: new Date(Math.min(now, row.started_at + AUDIT_WINDOW_MS)).toISOString(),
      },
    },
    now,
  );
  db.prepare('DELETE FROM web_login_audit_window WHERE ip = ?').run(row.ip);
}

/**
 * Counts a failed or refused login for the audit. Nothing the client typed is kept: only an existing user's
 * name (as stored), so a flood of made-up names neither fills nor poisons the audit log.
 */
export function countLoginFailure(
  db: Db,
  input: { ip: string; knownUser: string | undefined; refused: boolean },
  now = Date.now(),
): void {
  db.transaction(() => {
    const get = db.prepare('SELECT * FROM web_login_audit_window WHERE ip = ?');
    let ip = addressBucket(input.ip);
    let row = get.get(ip) as AuditWindowRow | undefined;
    if (!row) {
      const open = db.prepare('SELECT COUNT(*) FROM web_login_audit_window').pluck().get() as number;
      if (open >= MAX_AUDIT_WINDOWS) {
        ip = 'other';
        row = get.get(ip) as AuditWindowRow | undefined;
      }
    }
    if (row && row.started_at <= now - AUDIT_WINDOW_MS) writeSummary(db, row, now);
    const current = row && row.started_at > now - AUDIT_WINDOW_MS ? row : undefined;
    const users = new Set<string>(current ? (JSON.parse(current.users) as string[]) : []);
    if (input.knownUser && users.size < MAX_AUDITED_USERS) users.add(input.knownUser);
    db.prepare(
      `INSERT INTO web_login_audit_window (ip, started_at, failures, refused, users) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (ip) DO UPDATE SET failures = failures + excluded.failures,
         refused = refused + excluded.refused, users = excluded.users`,
    ).run(ip, now, input.refused ? 0 : 1, input.refused ? 1 : 0, JSON.stringify([...users]));
  })();
}

/** Writes the summary of every window that has ended (all of them with `all`). Returns the rows written. */
export function flushLoginAudit(db: Db, now = Date.now(), all = false): number {
  const rows = db
    .prepare('SELECT * FROM web_login_audit_window WHERE started_at <= ?')
    .all(all ? now : now - AUDIT_WINDOW_MS) as AuditWindowRow[];
  db.transaction(() => {
    for (const row of rows) writeSummary(db, row, now);
  })();
  return rows.length;
}
