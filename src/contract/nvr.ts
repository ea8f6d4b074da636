/**
 * MQTT contract between the controller (src/nvr) and the recorder agent (src/nvr-agent).
 * The agent shares only this file with the controller. Times are ISO-8601 UTC strings.
 */
export interface HoldWindow {
  from: string;
  to: string;
  cameras: string[];
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
export const CAMERA_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
export const REQUEST_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
/** `case` in an export request names the directory `exports/<case>/` on the recorder. */
export const EXPORT_CASE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$';
/** Larger payloads are dropped unread by both ends. */
export const MAX_NVR_PAYLOAD_BYTES = 64 * 1024;
