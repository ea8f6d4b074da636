import { defineConfig } from 'vitest/config';
import { SYSTEM_TESTS } from './vitest.system.config.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Browser, system and fault tests have their own configs (npm run test:browser, test:system, test:faults);
    // npm run test:all runs all.
    exclude: [
      'test/faults/**',
      'test/**/*.browser.test.ts',
      ...SYSTEM_TESTS.map((path) => (path.endsWith('.ts') ? path : `${path}/**`)),
      'node_modules/**',
    ],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
