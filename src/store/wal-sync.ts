import { open } from 'node:fs/promises';
import type { Db } from './db.ts';

/**
 * fdatasync of the store's write-ahead log, run on the thread pool and outside any SQLite lock. A bulk job
 * commits its batches without syncing (synchronous = NORMAL) and calls this after each: the door's commits
 * neither wait while the job syncs inside the write lock nor have to flush the job's pages in their own sync.
 */
export function walDataSync(db: Db): () => Promise<void> {
  const wal = `${db.name}-wal`;
  return async () => {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(wal, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // no log: nothing unsynced
      throw error;
    }
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  };
}
