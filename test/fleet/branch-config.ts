import type { FleetBranchConfig } from '../../src/fleet/config.ts';

/** A branch's enabled `fleet` section for tests: quick resends, the rest as the schema's defaults. */
export function branchFleetConfig(overrides: Partial<FleetBranchConfig> = {}): FleetBranchConfig {
  return {
    enabled: true,
    scan_seconds: 60,
    send_seconds: 5,
    batch: 100,
    backfill_days: 7,
    backoff: { min_ms: 1000, max_ms: 2000 },
    health_seconds: 300,
    keep_acked_days: 30,
    ...overrides,
  };
}
