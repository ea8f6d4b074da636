import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export type Db = Database.Database;

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Migrations are `NNN_name.sql` files; PRAGMA user_version records the last one applied. */
export function listMigrations(): { version: number; name: string; sql: string }[] {
  return readdirSync(migrationsDir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 3)),
      name: f,
      sql: readFileSync(join(migrationsDir, f), 'utf8'),
    }));
}

export interface OpenDbOptions {
  /** WAL pages after which a commit on this connection checkpoints (SQLite's default 1000). */
  walAutocheckpointPages?: number;
}

/**
 * With SQLite's default, whichever commit passes 1000 WAL pages copies them back and fsyncs the database in
 * the committing call (once the write lock is let go): the cost falls on whoever committed last. So the
 * worker's commits checkpoint only past this ceiling (reached only while its timer cannot keep up); its timer
 * checkpoints outside any transaction (a PASSIVE checkpoint takes no write lock).
 */
export const WAL_CHECKPOINT_CEILING_PAGES = 20_000;

/** The store as the worker opens it: commits leave checkpointing to its timer (src/worker/main.ts). */
export function openWorkerStore(path: string): Db {
  return openDb(path, { walAutocheckpointPages: WAL_CHECKPOINT_CEILING_PAGES });
}

/**
 * The store as the door process opens it: its commits never checkpoint, however long the WAL. Past the ceiling
 * a door commit copied a busy worker's pages back, on the swipe's path. The worker checkpoints; while it is
 * down, the door's fallback timer does (store/wal-fallback.ts).
 */
export function openDoorStore(path: string): Db {
  return openDb(path, { walAutocheckpointPages: 0 });
}

export function openDb(path: string, options: OpenDbOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // FULL: an entry committed before the relay pulse must survive a power cut.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (options.walAutocheckpointPages !== undefined)
    db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(options.walAutocheckpointPages))}`);
  immediateByDefault(db);
  migrate(db);
  return db;
}

/**
 * A read-only connection to an existing store (migrated by whoever opened it for writing): for long reads
 * that page through one snapshot without tying up the caller's own connection.
 */
export function openReadOnly(path: string): Db {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * Two processes write this store (the door and the worker, and admin commands). A deferred transaction that
 * reads first and then writes fails at once with SQLITE_BUSY when the other process committed in between (its
 * snapshot is stale; the busy timeout does not apply), so every transaction takes the write lock at BEGIN and
 * waits its turn instead. Read-only transactions that only want one snapshot ask for `.deferred()`.
 */
function immediateByDefault(db: Db): void {
  const plain = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const transaction = plain(fn);
    return Object.assign((...args: never[]) => transaction.immediate(...args), {
      default: transaction.immediate,
      deferred: transaction.deferred,
      immediate: transaction.immediate,
      exclusive: transaction.exclusive,
    });
  }) as Db['transaction'];
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of listMigrations()) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
