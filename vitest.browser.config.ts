import { defineConfig } from 'vitest/config';

// The dashboard in real Chromium (playwright-core, /usr/bin/chromium): `npm run test:browser`.
export default defineConfig({
  test: {
    include: ['test/**/*.browser.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
