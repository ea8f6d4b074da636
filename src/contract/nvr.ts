/**
 * MQTT contract between the controller (src/nvr) and the recorder agent (src/nvr-agent).
 * The agent shares only this file with the controller. Times are ISO-8601 UTC strings.
 */
export interface HoldWindow {
  from: string;
  to: string;
  cameras: string[];
  /**
   * The export's case folder (`ExportRequest.case`) when the hold belongs to an open export case: the agent
   * reads the purge list's cases as the open ones (its export folders of other cases are stale once delivered).
   */
  case?: string;
}

export interface PurgeRequest {
  id: string;
  before: string;
  cameras: string[];
  holds: HoldWindow[];
  ts: string;
}

export interface PurgeResponse {
  id: string;
  ok: boolean;
  deleted: number;
  /** Oldest footage left outside holds, or null when none is left. */
  oldest: string | null;
  error?: string;
}

export interface ExportRequest {
  id: string;
  case: string;
  from: string;
  to: string;
  cameras: string[];
  ts: string;
}

export interface ExportResponse {
  id: string;
  ok: boolean;
  state: 'accepted' | 'done' | 'failed';
  location?: string;
  sha256?: string;
  files?: number;
  error?: string;
}

export interface NvrStatus {
  /** Oldest footage outside holds, over all cameras (null when none). */
  oldest: string | null;
  cameras: { name: string; oldest: string | null; files: number }[];
  ts: string;
  /** Which recorder the agent drives, and whether it deletes or only reports (Frigate ≤ 0.17). */
  recorder?: RecorderDescription;
  /** Compliance findings: anything that can keep patron images longer than the site's retention. */
  findings?: ComplianceFinding[];
  /** Places the agent could not read or would not enter: never read as "no footage". */
  skipped?: SkippedPlace[];
  /** Messages the agent dropped since it started, by why (forgery, replay, …). */
  rejected?: Record<string, number>;
}

export interface RecorderDescription {
  kind: 'files' | 'frigate';
  /** The recorder's own version string, e.g. Frigate's `0.16.2-4d58206`; null for files. */
  version: string | null;
  /** True when the agent deletes footage; false when the recorder's own retention does and the agent reports. */
  purges: boolean;
  /** One line for the dashboard, e.g. "Frigate 0.16: Frigate's retention deletes; the agent verifies". */
  note: string;
}

/**
 * Kinds of compliance finding. Config findings name a Frigate setting that keeps images longer than the
 * site's retention; `stale_*` findings are files older than the retention in a media folder.
 */
export const FINDING_KINDS = [
  'recordings', // footage outside holds older than retention (what `oldest` says, as a finding)
  'config_continuous',
  'config_motion',
  'config_alerts',
  'config_detections',
  'config_events', // Frigate 0.14: record.events.retain (default and per object) before alerts/detections
  'config_snapshots',
  'config_expire_interval',
  'config_recording_off_schedule',
  'config_unreadable',
  'recorder_safe_mode',
  'stale_clips',
  'stale_snapshots',
  'stale_thumbnails',
  'stale_previews',
  'stale_exports',
  'stale_faces',
  'skipped',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface ComplianceFinding {
  kind: FindingKind;
  /** Plain words for the dashboard, naming the setting or folder and the value found. */
  detail: string;
  /** Camera the finding concerns, when it is one camera's. */
  camera?: string;
  /** Oldest file time for `stale_*`, ISO. */
  oldest?: string;
  /** Files concerned for `stale_*`. */
  count?: number;
}

export interface SkippedPlace {
  /** Path relative to the recorder's media root (or the API route). */
  path: string;
  why: string;
}

export const nvrTopics = (base: string) => ({
  purgeRequest: `${base}/purge/request`,
  purgeResponse: `${base}/purge/response`,
  exportRequest: `${base}/export/request`,
  exportResponse: `${base}/export/response`,
  status: `${base}/status`,
});

/**
 * Shared validation rules (both ends check them). An empty `cameras` list in a purge request or a
 * hold means every camera: the safe reading for a hold, the natural one for retention.
 */
/** As Frigate allows camera names (a leading `_` or `-` is valid there). */
export const CAMERA_NAME_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const REQUEST_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
/** `case` in an export request names the directory `exports/<case>/` on the recorder. */
export const EXPORT_CASE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$';
/** Larger payloads are dropped unread by both ends. */
export const MAX_NVR_PAYLOAD_BYTES = 64 * 1024;
