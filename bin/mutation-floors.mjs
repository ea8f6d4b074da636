#!/usr/bin/env node
// Checks each module group's mutation score (from Stryker's JSON report) against its floor in
// bin/mutation-groups.mjs. Stryker's own `thresholds.break` is one number for the whole run; this is per group.
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { GROUPS, reportFile } from './mutation-groups.mjs';

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** Stryker's mutation score: detected / (detected + undetected); compile and runtime errors do not count. */
export function scoreOf(mutants) {
  let detected = 0;
  let undetected = 0;
  for (const m of mutants) {
    if (DETECTED.has(m.status)) detected++;
    else if (UNDETECTED.has(m.status)) undetected++;
  }
  const valid = detected + undetected;
  return { detected, undetected, valid, score: valid === 0 ? null : (detected / valid) * 100 };
}

/** Per file and for the whole group, from a mutation-testing-report-schema document. */
export function groupScores(report) {
  const files = Object.entries(report.files ?? {}).map(([path, f]) => ({ path, ...scoreOf(f.mutants) }));
  const all = Object.values(report.files ?? {}).flatMap((f) => f.mutants);
  return { files, total: scoreOf(all) };
}

/** Returns the failures: a missing report, a group with no valid mutant, or a score under its floor. */
export function checkFloors(names, readReport) {
  const failures = [];
  const lines = [];
  for (const name of names) {
    const group = GROUPS[name];
    if (!group) {
      failures.push(`${name}: no such group (${Object.keys(GROUPS).join(', ')})`);
      continue;
    }
    const report = readReport(name);
    if (!report) {
      failures.push(`${name}: no report at ${reportFile(name)}; run npm run test:mutation -- ${name}`);
      continue;
    }
    const { files, total } = groupScores(report);
    for (const f of files) lines.push(`  ${f.path}: ${fmt(f.score)} (${f.detected}/${f.valid} killed)`);
    lines.push(`${name}: ${fmt(total.score)} (${total.detected}/${total.valid}), floor ${group.floor} %`);
    if (total.score === null) failures.push(`${name}: no valid mutants; the mutate globs match nothing`);
    else if (total.score < group.floor)
      failures.push(
        `${name}: mutation score ${fmt(total.score)} is under its floor of ${group.floor} % ` +
          `(${total.undetected} mutants survived or were not covered; see ${reportFile(name)})`,
      );
  }
  return { failures, lines };
}

const fmt = (score) => (score === null ? 'n/a' : `${score.toFixed(2)} %`);

function readReportFile(name) {
  const file = reportFile(name);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(GROUPS);
  const { failures, lines } = checkFloors(names, readReportFile);
  console.log(lines.join('\n'));
  if (failures.length > 0) {
    console.error(`\nmutation floors FAILED:\n${failures.map((f) => `  ${f}`).join('\n')}`);
    process.exit(1);
  }
  console.log('\nmutation floors ok');
}
