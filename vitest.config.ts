import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Browser tests and faults have their own configs (npm run test:browser, test:faults); npm run test:all runs all.
    exclude: ['test/faults/**', 'test/**/*.browser.test.ts', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
