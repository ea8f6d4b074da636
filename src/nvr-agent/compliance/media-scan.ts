/** Scans the recorder's media folders outside recordings for patron images older than the retention. */
import type { ComplianceFinding, SkippedPlace } from '../../contract/nvr.ts';

export interface MediaScanOptions {
  /** Frigate's media root (`/media/frigate`): clips, exports, … live under it. */
  mediaRoot: string;
  retentionDays: number;
  now: number;
  /** Names of export folders (directly under Frigate's exports) that belong to an open case. */
  openCaseExports: Set<string>;
}

export interface MediaScanResult {
  findings: ComplianceFinding[];
  skipped: SkippedPlace[];
  /** Files looked at. */
  files: number;
}

export async function scanMedia(_opts: MediaScanOptions): Promise<MediaScanResult> {
  return { findings: [], skipped: [], files: 0 }; // placeholder: implemented with the compliance work
}
