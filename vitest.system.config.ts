import { defineConfig } from 'vitest/config';

// Whole-system tests kept out of the edit–test loop: the build and the systemd units as shipped, and the fleet
// bridge (four Mosquitto brokers): `npm run test:system`.
export default defineConfig({
  test: {
    include: ['test/deploy/**/*.test.ts', 'test/fleet/bridge.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
