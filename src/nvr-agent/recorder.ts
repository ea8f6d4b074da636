/**
 * What the agent needs from a recorder. Each recorder is one file in `recorders/` implementing this; the agent
 * (MQTT, holds, state, status) does not know which one runs. A third recorder is a new file, not a rewrite.
 */
import type { ComplianceFinding, RecorderDescription, SkippedPlace } from '../contract/nvr.ts';

/** A held window (ms, inclusive ends); `cameras` null: every camera. */
export interface Hold {
  from: number;
  to: number;
  cameras: Set<string> | null;
}

/** One recorded segment with its real extent, from the recorder's data (never an assumed length). */
export interface RecordedSegment {
  camera: string;
  /** ms since the epoch (UTC). */
  start: number;
  /** ms since the epoch (UTC); > start. */
  end: number;
  /**
   * Path relative to the recordings root as the recorder stores it (`YYYY-MM-DD/HH/<cam>/MM.SS.mp4` for
   * Frigate). Exports keep this path under the case directory.
   */
  rel: string;
  /** Bytes, when the recorder knows it without a download (the exports budget is checked with it). */
  size?: number;
}

/** What every recorder gets from the agent besides its options and logger. */
export interface RecorderDeps {
  /** The agent's clock (ms), injectable in tests. */
  now: () => number;
}

export interface CameraStats {
  name: string;
  /** Oldest footage left outside holds (ms), or null. */
  oldest: number | null;
  /** Segments left (held or not). */
  files: number;
}

export interface PurgePlan {
  /** Delete segments that start before this (ms). */
  before: number;
  /** Cameras in scope; null: every camera. */
  cameras: Set<string> | null;
  holds: Hold[];
}

export interface RecorderPurgeResult {
  deleted: number;
  /** Segments kept because they overlap a hold. */
  held: number;
  /** Oldest footage left outside holds, over all cameras (ms), or null. */
  oldest: number | null;
  cameras: CameraStats[];
  skipped: SkippedPlace[];
  /** Segments that should have gone but are still there (each also counts in `cameras`). */
  errors: number;
  /** Requests made to the recorder's API (0 for files). */
  calls: number;
}

export interface Recorder {
  /** Probes the recorder (e.g. Frigate's version) and describes what this agent can promise with it. */
  start(): Promise<RecorderDescription>;
  describe(): RecorderDescription;
  /**
   * Deletes what the plan allows and verifies by listing again; a recorder that cannot delete (Frigate ≤ 0.17)
   * deletes nothing and reports what is left.
   */
  purge(plan: PurgePlan): Promise<RecorderPurgeResult>;
  /** Segments overlapping [from, to] (ms, inclusive) for the cameras (null: all), in time order per camera. */
  segments(
    from: number,
    to: number,
    cameras: Set<string> | null,
  ): Promise<{ segments: RecordedSegment[]; skipped: SkippedPlace[] }>;
  /** Copies one segment bit-exact into `target` (a new file whose directory exists). */
  copySegment(segment: RecordedSegment, target: string): Promise<void>;
  /** What the recorder's own settings allow to outlive `retentionDays` (empty for files). */
  configFindings(retentionDays: number): Promise<ComplianceFinding[]>;
  stop(): Promise<void>;
}

/** True when [start, end] overlaps a hold for its camera (inclusive at both ends, as Frigate's ranges are). */
export function overlapsHold(seg: Pick<RecordedSegment, 'camera' | 'start' | 'end'>, holds: Hold[]): boolean {
  for (const h of holds) {
    if (h.cameras && !h.cameras.has(seg.camera)) continue;
    if (seg.start <= h.to && seg.end >= h.from) return true;
  }
  return false;
}
