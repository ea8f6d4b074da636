#!/usr/bin/env node
// npm run test:mutation [-- GROUP…] [--full]: StrykerJS on each named module group (all when none is named),
// one group at a time, at nice 19 (the machine is shared; MUTATION_NICE overrides), incremental; then each group's score against its floor.
import { spawnSync } from 'node:child_process';
import { GROUPS } from './mutation-groups.mjs';

const args = process.argv.slice(2);
const full = args.includes('--full');
const names = args.filter((a) => !a.startsWith('--'));
const groups = names.length > 0 ? names : Object.keys(GROUPS);
const unknown = groups.filter((g) => !GROUPS[g]);
if (unknown.length > 0) {
  console.error(`unknown mutation group(s) ${unknown.join(', ')}: one of ${Object.keys(GROUPS).join(', ')}`);
  process.exit(2);
}

for (const group of groups) {
  console.log(`\n=== mutation: ${group} (${GROUPS[group].why})`);
  const stryker = [
    '-n',
    // MUTATION_NICE=0 when the machine is otherwise idle (or the other work runs niced).
    process.env.MUTATION_NICE ?? '19',
    'npx',
    'stryker',
    'run',
    'stryker.config.mjs',
    // --full reruns every mutant and still writes the incremental file, so the next run can reuse it.
    '--incremental',
    ...(full ? ['--force'] : []),
  ];
  const run = spawnSync('nice', stryker, {
    stdio: 'inherit',
    env: { ...process.env, MUTATION_GROUP: group },
  });
  if (run.status !== 0) {
    console.error(`mutation: stryker failed on ${group} (exit ${run.status ?? run.signal})`);
    process.exit(1);
  }
}

const floors = spawnSync(process.execPath, ['bin/mutation-floors.mjs', ...groups], { stdio: 'inherit' });
process.exit(floors.status ?? 1);
