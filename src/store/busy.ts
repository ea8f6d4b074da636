/** SQLite's "another connection holds the lock" (SQLITE_BUSY and its extended codes), as better-sqlite3 throws it. */
export const isBusy = (error: unknown): boolean =>
  typeof (error as { code?: unknown })?.code === 'string' &&
  (error as { code: string }).code.startsWith('SQLITE_BUSY');
