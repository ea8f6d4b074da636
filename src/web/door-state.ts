import type { ActiveAlarm } from '../alarms/alarms.ts';
import type { DoorSnapshot } from '../contract/door-panel.ts';

/** What a door tile says, most urgent first when several hold. */
export type DoorTileState = 'fire' | 'forced' | 'held_open' | 'offline' | 'open' | 'unlocked' | 'locked';

/**
 * One word for the door's state now. Alarms decide the urgent ones (only those whose cause holds);
 * `offline` means the door cannot be worked as it should: its relay does not answer, its reader is gone,
 * or the door process sends nothing for it.
 */
export function doorTileState(door: DoorSnapshot | null, alarms: readonly ActiveAlarm[]): DoorTileState {
  if (!door) return 'offline';
  const holds = (code: ActiveAlarm['code']) =>
    alarms.some((a) => a.code === code && a.door === door.id && a.clearedAt === null);
  if (door.fireActive || holds('fire_active')) return 'fire';
  if (holds('door_forced')) return 'forced';
  if (holds('door_held_open')) return 'held_open';
  if (holds('relay_fault') || holds('reader_offline')) return 'offline';
  if (door.open) return 'open';
  return door.locked ? 'locked' : 'unlocked';
}
