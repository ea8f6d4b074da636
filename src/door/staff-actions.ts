/**
 * A person's unlock or lock of a door, wherever they pressed it (the dashboard's Now page, Home Assistant):
 * one path, so every one holds the door the same way and lands in the audit log the same way.
 */
import { audit } from '../audit/audit.ts';
import type { DoorPanel } from '../contract/door-panel.ts';
import type { Db } from '../store/db.ts';
import type { DeferredWrites } from '../store/deferred-writes.ts';

export interface StaffAct {
  /** Who: a dashboard user's name, or `homeassistant`. */
  actor: string;
  reason: string;
  /** Where it came from, when not the dashboard (kept in the audit detail). */
  via?: string | undefined;
}

/** Holds the door unlocked for `minutes` (then the schedule takes over again), and audits it. */
export async function staffUnlock(
  db: Db,
  door: DoorPanel,
  act: StaffAct,
  minutes: number,
  writes?: DeferredWrites,
): Promise<void> {
  await door.manualUnlock(minutes);
  record(db, writes, 'door.manual_unlock', {
    actor: act.actor,
    action: 'door.manual_unlock',
    subject: door.id,
    reason: act.reason,
    detail: { minutes, ...(act.via ? { via: act.via } : {}) },
  });
}

/** Ends a manual unlock, and audits it. */
export async function staffLock(
  db: Db,
  door: DoorPanel,
  act: StaffAct,
  writes?: DeferredWrites,
): Promise<void> {
  await door.manualLock();
  record(db, writes, 'door.manual_lock', {
    actor: act.actor,
    action: 'door.manual_lock',
    subject: door.id,
    reason: act.reason,
    ...(act.via ? { detail: { via: act.via } } : {}),
  });
}

/**
 * The door acts at once; its audit row is written now, or (in the door process, while another process holds the
 * store's lock) as soon as the lock is free, in order with every other write, and at the latest when it stops.
 */
function record(
  db: Db,
  writes: DeferredWrites | undefined,
  what: string,
  entry: Parameters<typeof audit>[1],
): void {
  const at = Date.now();
  if (writes) writes.write(what, () => audit(db, entry, at));
  else audit(db, entry, at);
}
