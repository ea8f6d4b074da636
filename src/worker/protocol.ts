/**
 * Messages between the door process and its worker process (dashboard, statistics, retention jobs).
 * JSON over Node's IPC channel; nothing here carries identity (events are the bus's, which carry none).
 */
import type { ActiveAlarm } from '../alarms/alarms.ts';
import type { DorvaktConfig } from '../config/types.ts';
import type { DoorSnapshot } from '../contract/door-panel.ts';
import type { AlarmCode, DorvaktEvent } from '../contract/events.ts';
import type { RejectWhy } from '../fleet-rules/sign.ts';
import type { RetentionJob, RetentionRunResult } from '../retention/jobs.ts';

/** What the door process answers for, by target. */
export type CallTarget = 'door' | 'alarms' | 'nvr' | 'emergency' | 'access';

export type ToWorker =
  | {
      t: 'init';
      config: DorvaktConfig;
      logLevel: string;
      /** Append the log here instead of stdout. */
      logFile?: string | undefined;
      nvr: boolean;
      state: WorkerState;
    }
  | { t: 'state'; state: WorkerState }
  | { t: 'event'; event: DorvaktEvent }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: { name: string; message: string; detail?: unknown } }
  | { t: 'ping'; id: number }
  /** Runs a retention job now (as its schedule would); answered with `ran`. */
  | { t: 'run'; id: number; job: RetentionJob }
  | { t: 'stop' };

export type FromWorker =
  /** The worker runs; `webUrl` is set while its dashboard listens. */
  | { t: 'ready'; webUrl: string | null }
  | { t: 'web'; url: string | null }
  | { t: 'call'; id: number; target: CallTarget; door?: string; method: string; args: unknown[] }
  | { t: 'alarm'; action: 'raise' | 'clear'; code: AlarmCode; door: string; detail?: string }
  | { t: 'pong'; id: number }
  | { t: 'ran'; id: number; result: RetentionRunResult | null; error?: string }
  /** The fleet's checked exceptions in the store changed (src/fleet-rules): the door merges them again. */
  | { t: 'fleet_rules'; event: 'changed'; version: number }
  /** A rules document refused (counted in the door process's /metrics). */
  | { t: 'fleet_rules'; event: 'rejected'; why: RejectWhy };

/** The door process's live state as the worker's pages show it. */
export interface WorkerState {
  doors: DoorSnapshot[];
  /** Alarms.unresolved(): active ones and cleared ones nobody has acknowledged yet. */
  alarms: ActiveAlarm[];
  /** People inside now by the counters (src/occupancy); null while it does not run, absent without one. */
  inside?: number | null | undefined;
}

/** The methods the worker may call, per target; anything else is refused by the door process. */
export const CALLABLE: Record<CallTarget, readonly string[]> = {
  door: ['manualUnlock', 'manualLock'],
  alarms: ['acknowledge'],
  nvr: ['openExport', 'closeExport', 'renewHold', 'listExports', 'health'],
  // The dashboard wrote a new emergency mode to the store: the door process re-reads it and publishes the change.
  emergency: ['refresh'],
  // The desk's card check: read only, never opens a door, asks the library system on its own connection.
  access: ['explain'],
};

/** Parts inside the worker that may raise or clear their own `part_failed`. */
export const WORKER_PARTS: readonly string[] = ['dashboard', 'retention_jobs', 'fleet', 'fleet_rules'];

/** Site-wide alarms a part inside the worker owns (raised and cleared there, shown by the door process). */
export const WORKER_ALARMS: readonly AlarmCode[] = ['fleet_rules_rejected'];

/** The `why` labels of `dorvakt_fleet_rules_rejected_total` (anything else from the worker is refused). */
export const FLEET_RULES_REJECT_WHYS: readonly RejectWhy[] = [
  'malformed',
  'unsigned',
  'bad_signature',
  'invalid',
  'stale',
];
