import type { ComplianceFinding, RecorderDescription, SkippedPlace } from './nvr.ts';

/** The controller-side camera-retention API that the CLI and the dashboard use (implemented in src/nvr). */
export type ExportState = 'held' | 'requested' | 'exported' | 'failed' | 'closed' | 'expired';

export interface ExportOpenInput {
  caseNumber: string;
  authority: string;
  from: string; // ISO
  to: string; // ISO
  cameras: string[];
  reason: string;
  actor: string;
}

export interface ExportCase {
  id: string;
  caseNumber: string;
  authority: string;
  from: string;
  to: string;
  cameras: string[];
  reason: string;
  state: ExportState;
  location: string | null;
  sha256: string | null;
  files: number | null;
  error: string | null;
  openedBy: string;
  openedAt: string;
  holdExpiresAt: string;
  closedAt: string | null;
}

export interface RetentionHealth {
  retentionDays: number;
  lastPurgeRequestAt: string | null;
  lastPurgeAnsweredAt: string | null;
  lastPurgeDeleted: number | null;
  /** Oldest footage outside holds, as reported by the agent (answer or status). */
  oldest: string | null;
  cameras: { name: string; oldest: string | null; files: number }[];
  statusAt: string | null;
  breach: boolean;
  unreachable: boolean;
  /** A forged, replayed or unsigned recorder message was dropped recently (`nvr_forgery`). */
  forgery: boolean;
  pendingRequests: number;
  /** Compliance findings from the agent's last status (each one keeps retention_breach raised). */
  findings: ComplianceFinding[];
  /** Places the agent could not check, from its last status. */
  skipped: SkippedPlace[];
  /** What the agent drives, from its last status; null before the first status or from an older agent. */
  recorder: RecorderDescription | null;
}

/** Why an export was refused, for a page to say in the admin's language and time zone (times ISO). */
export type ExportRefusalDetail =
  | { code: 'before_retention'; cutoff: string; from: string; days: number }
  | { code: 'too_wide'; hours: number; max: number }
  | { code: 'in_future'; to: string }
  | { code: 'order' }
  | { code: 'unknown_camera'; camera: string };

/** Thrown when an export window is already past retention, or the input is invalid. Message is for the admin. */
export class ExportRefused extends Error {
  override name = 'ExportRefused';
  constructor(
    message: string,
    readonly detail?: ExportRefusalDetail | undefined,
  ) {
    super(message);
  }
}

export interface NvrAdmin {
  openExport(input: ExportOpenInput): ExportCase;
  closeExport(id: string, actor: string, reason: string): ExportCase;
  renewHold(id: string, actor: string, reason: string): ExportCase;
  listExports(): ExportCase[];
  health(): RetentionHealth;
}

/** NvrAdmin as another process reaches it: the same calls, answered now or later. */
export type NvrAdminAccess = {
  [K in keyof NvrAdmin]: (
    ...args: Parameters<NvrAdmin[K]>
  ) => ReturnType<NvrAdmin[K]> | Promise<ReturnType<NvrAdmin[K]>>;
};

/**
 * What the door process hands the worker: its writes wait in the door's queue of store writes. The mark keeps
 * the controller itself (whose writes would wait for the lock on the door's event loop) from being handed over.
 */
export type QueuedNvrAdminAccess = NvrAdminAccess & { readonly writesQueued: true };
