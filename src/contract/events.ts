import type { Reason } from './reasons.ts';
import type { ReaderRejectReason } from './reader.ts';

/** Door mode from the schedule. */
export type ScheduleState = 'staffed' | 'staffless' | 'closed';

/** The site's state (src/states): the schedule's, plus `closing` before it closes and `emergency`. */
export const SITE_STATES = ['staffed', 'staffless', 'closing', 'closed', 'emergency'] as const;
export type SiteState = (typeof SITE_STATES)[number];

/** An emergency mode set by an admin: let nobody in, or everybody. */
export type EmergencyKind = 'nobody' | 'everybody';

export const ALARM_CODES = [
  'reader_offline',
  'door_held_open',
  'door_forced',
  'fire_active',
  'ils_offline',
  'store_error',
  'broker_offline',
  'retention_breach',
  'nvr_unreachable',
  'disk_full',
  'manual_unlock',
  'relay_fault',
  'schedule_stale',
  'nvr_forgery',
  'recording_mismatch',
  /** An optional part (dashboard, ops endpoints, …) failed; the door runs without it. Subject: the part. */
  'part_failed',
  /** An OSDP reader reports its case opened or torn off the wall. Subject: the door. */
  'reader_tamper',
  /** An OSDP reader failed the secure channel (wrong key, no key, bad MAC): it delivers no card. Subject: the door. */
  'reader_insecure',
  /** A state output (lights, alarm arm, panel, sound, announcements) could not be set. Subject: the output. */
  'output_failed',
  /** At closing people are still inside (people counter) or a motion input is active: the intruder alarm is not armed. Site-wide. */
  'occupied_at_close',
  /** More passages in than grants while the door was open once (no identity). Subject: the door. */
  'tailgating',
  /** On-call staff could not be told (webhook or MQTT topic); nothing waits for it. Subject: `oncall:<channel>`. */
  'oncall_failed',
  /** A rules document from the fleet (src/fleet-rules) was refused: unsigned, badly signed, malformed or not newer. Site-wide. */
  'fleet_rules_rejected',
  /** Entries have waited in the door's journal too long: the store cannot take them (the door still works). Site-wide. */
  'entries_undelivered',
] as const;
export type AlarmCode = (typeof ALARM_CODES)[number];

/**
 * Everything that happens, inside the controller: pino, the dashboard's SSE stream and metrics read these.
 * MQTT carries them translated to the v2 contract (src/contract/mqtt.ts), without identity.
 */
export type DorvaktEvent =
  | {
      type: 'entry';
      door: string;
      outcome: 'granted' | 'denied';
      reason: Reason;
      mode: ScheduleState;
      category?: string | undefined;
      entryId: number;
      ts: string;
    }
  | {
      type: 'alarm';
      alarm: AlarmCode;
      state: 'raised' | 'cleared';
      door?: string | undefined;
      detail?: string;
      ts: string;
    }
  | {
      type: 'door';
      door: string;
      locked: boolean;
      open: boolean;
      mode: ScheduleState;
      held: boolean;
      fire: boolean;
      ts: string;
    }
  | {
      type: 'mode';
      door: string;
      mode: ScheduleState;
      next?: { mode: ScheduleState; at: string } | undefined;
      ts: string;
    }
  | { type: 'closing_soon'; door: string; minutes: number; at: string; ts: string }
  /** Staff unlocked the door from the dashboard for `minutes`, until `until` (who did it is in the audit log). */
  | { type: 'manual_unlock'; door: string; minutes: number; until: string; ts: string }
  | { type: 'reader_rejected'; reader: string; why: ReaderRejectReason; ts: string }
  /** The site's emergency mode started or ended (its reason, staff text, stays in the store and the audit). */
  | {
      type: 'emergency';
      state: 'started' | 'ended';
      mode: 'nobody' | 'everybody';
      until: string;
      /** Why it ended: at `until`, or ended (or replaced) by an admin; null when it started. */
      ended: 'expired' | 'ended' | null;
      ts: string;
    }
  /** The site's state changed (src/states); `emergency` names the mode while the state is emergency. */
  | {
      type: 'state';
      state: SiteState;
      previous: SiteState | null;
      emergency: EmergencyKind | null;
      next: { state: SiteState; at: string } | null;
      ts: string;
    }
  /** A state output was set to `value` (written to its GPIO line or published on its topic). */
  | { type: 'output'; output: string; value: string; state: SiteState; ts: string }
  /** A closing announcement: `minutes` before `at`, in these languages. */
  | { type: 'announcement'; minutes: number; at: string; languages: string[]; ts: string }
  /** A people counter saw a passage (`in`/`out`), or its count was reset (`reset`, nightly); `inside` after it. */
  | { type: 'occupancy'; door: string; direction: PassageDirection | 'reset'; inside: number; ts: string };

/** Which way a person went through a door, seen by a people counter (src/occupancy). */
export type PassageDirection = 'in' | 'out';
