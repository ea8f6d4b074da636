import { defineConfig } from 'vitest/config';

/**
 * Whole-system tests kept out of the edit–test loop: the whole service with its worker process, the build and the
 * systemd units as shipped, the fleet's bridged brokers: `npm run test:system` (in `npm run test:all`).
 */
export const SYSTEM_TESTS = [
  'test/deploy',
  'test/fleet/bridge.test.ts',
  'test/fleet/passages.test.ts',
  'test/fleet/worker.test.ts',
  'test/fleet-rules/e2e.test.ts',
  'test/fleet-rules/apply-during-swipes.test.ts',
  'test/integration/alarms-until-acked.test.ts',
  'test/integration/local-access-e2e.test.ts',
  'test/integration/optional-parts.test.ts',
  'test/integration/worker-process.test.ts',
];

export default defineConfig({
  test: {
    include: SYSTEM_TESTS.map((path) => (path.endsWith('.ts') ? path : `${path}/*.test.ts`)),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
