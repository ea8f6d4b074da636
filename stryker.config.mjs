// StrykerJS: one module group per run (MUTATION_GROUP, set by bin/mutation.mjs), so a run stays bounded and
// each group keeps its own incremental file and report.
import { GROUPS, incrementalFile, reportFile } from './bin/mutation-groups.mjs';

const name = process.env.MUTATION_GROUP ?? 'access';
const group = GROUPS[name];
if (!group) throw new Error(`unknown mutation group ${name}: one of ${Object.keys(GROUPS).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  mutate: group.mutate,
  testFiles: group.tests,
  coverageAnalysis: 'perTest',
  // Two cores shared by the whole team; MUTATION_CONCURRENCY=2 on a machine of one's own.
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
  timeoutMS: 10_000,
  dryRunTimeoutMinutes: 10,
  incrementalFile: incrementalFile(name),
  reporters: ['json', 'clear-text', 'progress-append-only'],
  jsonReporter: { fileName: reportFile(name) },
  clearTextReporter: { allowEmojis: false, logTests: false, reportMutants: true, reportScoreTable: true },
  ignorePatterns: [
    'dist',
    'reports',
    'mutation',
    '.demo',
    'test-artifacts',
    'coverage',
    'hardware',
    'systemd',
  ],
  // One sandbox folder per group, so two groups may run side by side.
  tempDirName: `.stryker-tmp/${name}`,
  cleanTempDir: true,
  // Floors are per group, checked by bin/mutation-floors.mjs; Stryker's own threshold is global.
  thresholds: { high: 90, low: 80, break: null },
};
