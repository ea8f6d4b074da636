import type { NvrAdmin, QueuedNvrAdminAccess } from '../contract/nvr-admin.ts';
import type { Db } from '../store/db.ts';
import type { DeferredWrites } from '../store/deferred-writes.ts';

/**
 * The recorder's admin calls as the door process answers the worker: the ones that write (an export case, a
 * hold) wait for the store's lock in the door process's queue, off its event loop; reads answer at once.
 * Each write runs as one transaction, so a try that finds the lock taken has changed nothing and runs again whole.
 */
export function queuedNvrAdmin(admin: NvrAdmin, db: Db, writes: DeferredWrites): QueuedNvrAdminAccess {
  const queued = <T>(what: string, run: () => T) => writes.soon(what, () => db.transaction(run)());
  return {
    writesQueued: true,
    openExport: (input) => queued('nvr export opened', () => admin.openExport(input)),
    closeExport: (id, actor, reason) =>
      queued('nvr export closed', () => admin.closeExport(id, actor, reason)),
    renewHold: (id, actor, reason) => queued('nvr hold renewed', () => admin.renewHold(id, actor, reason)),
    listExports: () => admin.listExports(),
    health: () => admin.health(),
  };
}
