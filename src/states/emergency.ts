import type { EmergencyKind } from '../contract/events.ts';

/**
 * Where the state engine learns of an emergency mode (set by an admin, ending by itself). The block-list
 * and emergency work implements it; until then, and on sites without it, there is never an emergency.
 */
export interface EmergencyMode {
  /** The mode in force at `now`, or null. Called on every tick: it must be cheap and never wait. */
  current(now: Date): EmergencyKind | null;
}

export const NO_EMERGENCY: EmergencyMode = { current: () => null };
