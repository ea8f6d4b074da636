/** Checks Frigate's effective config (`GET /api/config`) against the site's retention, per Frigate version. */
import type { ComplianceFinding } from '../../contract/nvr.ts';

/**
 * Every setting that can keep patron images longer than `retentionDays` (continuous, motion, alerts,
 * detections, snapshots globally, per object and per camera, `expire_interval`), read in the schema of
 * `version` (0.14, 0.15–0.16, 0.17+). Returns one finding per offending setting.
 */
export function checkFrigateConfig(
  _config: unknown,
  _version: string,
  _retentionDays: number,
): ComplianceFinding[] {
  return []; // placeholder: implemented with the compliance work
}
