import type { ScheduleState, SiteState } from './events.ts';

/** What the dashboard and metrics see of one door; implemented by the controller's door wiring. */
export interface DoorSnapshot {
  id: string;
  name: string;
  mode: ScheduleState;
  locked: boolean;
  open: boolean;
  held: boolean;
  fireActive: boolean;
  /** Manual unlock in force (staff), until when. */
  manualUnlockUntil: string | null;
  nextChange: { mode: ScheduleState; at: string } | null;
  /** The site's state and its next output changes (docs/states.md), when `states.enabled`. */
  site?: SiteStatus | undefined;
}

export interface SiteStatus {
  state: SiteState;
  next: { state: SiteState; at: string } | null;
  upcoming: { at: string; output: string; value: string }[];
}

export interface DoorPanel {
  readonly id: string;
  snapshot(): DoorSnapshot;
  /** Staff unlock with a reason, for `minutes` (then the schedule takes over again). Audited by the caller. */
  manualUnlock(minutes: number): void | Promise<void>;
  /** Ends a manual unlock. */
  manualLock(): void | Promise<void>;
}
