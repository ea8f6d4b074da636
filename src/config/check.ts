import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import cron from 'node-cron';
import { checkFleetRulesKey } from '../fleet-rules/check.ts';
import { parseKey } from '../reader/osdp/key.ts';
import { PublicHolidays } from '../schedule/holidays.ts';
import { LibraryPlanner } from '../schedule/planner.ts';
import { ScheduleConfigError, zoneOf } from '../schedule/schedule.ts';
import type { ScheduleConfig } from '../schedule/config.ts';
import {
  type ConfigInspection,
  type ConfigProblem,
  ConfigError,
  inspectConfig,
  type ParseOptions,
  resolveConfigPaths,
  secretRefs,
} from './load.ts';
import type { DorvaktConfig } from './types.ts';

/**
 * The full check behind `dorvakt check-config`: everything load.ts checks plus the site's time zone and
 * holidays, each schedule expression of each door, and the secret files. It loads the calendar libraries,
 * which the running service keeps out of its own memory.
 */
export function checkSchedules(config: DorvaktConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const site = config.site;
  try {
    zoneOf(site.timezone);
  } catch (error) {
    problems.push({ key: 'site.timezone', line: null, message: detailOf(error) });
  }
  try {
    new PublicHolidays(site.country, site.region);
  } catch (error) {
    const key = site.region !== undefined && /region/.test(String(error)) ? 'site.region' : 'site.country';
    problems.push({ key, line: null, message: detailOf(error) });
  }
  config.doors.forEach((door, i) => {
    problems.push(...checkDoorSchedule(door.schedule, `doors.${i}.schedule`));
  });
  return problems;
}

// Expressions are checked against a known-good site, so a bad site (reported once above) hides none of them.
const NEUTRAL_SITE = { timezone: 'UTC', country: 'NO' };
const NONE: ScheduleConfig = {
  staffed: '',
  staffless: '',
  holidays_closed: true,
  closing_soon_minutes: 0,
  exceptions: [],
};

/** Each expression and each exception on its own: the planner stops at the first mistake it meets. */
function checkDoorSchedule(schedule: ScheduleConfig, at: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const attempt = (part: ScheduleConfig, rename: (field: string) => string) => {
    try {
      new LibraryPlanner(part, NEUTRAL_SITE);
    } catch (error) {
      const field = error instanceof ScheduleConfigError ? rename(error.field) : '';
      problems.push({ key: `${at}${field ? `.${field}` : ''}`, line: null, message: detailOf(error) });
    }
  };
  attempt({ ...NONE, staffed: schedule.staffed ?? '' }, (f) => f);
  attempt({ ...NONE, staffless: schedule.staffless ?? '' }, (f) => f);
  const dates = new Map<string, number>();
  (schedule.exceptions ?? []).forEach((rule, i) => {
    attempt({ ...NONE, exceptions: [rule] }, (f) => f.replace(/^exceptions\[0\]/, `exceptions.${i}`));
    const first = dates.get(rule.date);
    if (first !== undefined) {
      problems.push({
        key: `${at}.exceptions.${i}.date`,
        line: null,
        message: `two exceptions for the same date (also exceptions.${first})`,
      });
    } else dates.set(rule.date, i);
  });
  return problems;
}

const detailOf = (error: unknown): string =>
  error instanceof ScheduleConfigError ? error.detail : (error as Error).message;

/** Secret files must exist, be readable, hold something, and be closed to other users. */
export function checkSecretFiles(config: DorvaktConfig, baseDir: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const { key, ref } of secretRefs(config)) {
    if (!('file' in ref) || typeof ref.file !== 'string') continue;
    const file = resolve(baseDir, ref.file);
    const problem = (message: string) => problems.push({ key: `${key}.file`, line: null, message });
    let mode: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) {
        problem(`${file} is not a file`);
        continue;
      }
      mode = stat.mode & 0o777;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problem(code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file}: ${code ?? 'error'}`);
      continue;
    }
    // Write access for others lets them swap the key: an error. Read access lets them compute card hashes
    // or forge messages: a warning, so a file left 644 by an older install does not lock the door on upgrade.
    const shown = mode.toString(8).padStart(4, '0');
    if ((mode & 0o022) !== 0) problem(`${file} can be written by other users (mode ${shown}): chmod 600`);
    else if ((mode & 0o007) !== 0) {
      problems.push({
        key: `${key}.file`,
        line: null,
        message: `${file} can be read by other users (mode ${shown}): chmod 600 (or 640 for a group)`,
        warning: true,
      });
    }
    try {
      const text = readFileSync(file, 'utf8');
      if (text.trim() === '') problem(`${file} is empty`);
      else if (key.endsWith('.osdp.scbk')) parseKey(text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problem(code ? `cannot read ${file}: ${code}` : `${file}: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** The anonymisation's cron expression, as node-cron will read it. */
export function checkRetentionSchedule(config: DorvaktConfig): ConfigProblem[] {
  const expression = config.entries.anonymise_at;
  if (cron.validate(expression)) return [];
  return [{ key: 'entries.anonymise_at', line: null, message: `"${expression}" is not a cron expression` }];
}

/** Warns of a category the rules name but the labels leave out (staff would read its bare code). */
export function checkCategoryLabels(config: DorvaktConfig): ConfigProblem[] {
  const labels = config.access.category_labels;
  if (!labels) return [];
  const named = [...new Set([...config.access.categories_allowed_alone, ...config.access.categories_denied])];
  return named
    .filter((code) => !Object.hasOwn(labels, code))
    .map((code) => ({
      key: 'access.category_labels',
      line: null,
      message: `no label for category "${code}" (named in the access rules); the dashboard shows the code`,
      warning: true,
    }));
}

const fullCheck: ParseOptions = {
  extraChecks: (config, baseDir) => [
    ...checkSchedules(config),
    ...checkCategoryLabels(config),
    ...checkRetentionSchedule(config),
    ...checkSecretFiles(config, baseDir),
    ...checkFleetRulesKey(config.fleet, baseDir).map((p) => ({
      key: `fleet.${p.key}`,
      line: null,
      message: p.message,
    })),
  ],
};

/** The full check of a file: every problem, the migrations that applied, and the migrated document. */
export function inspectConfigFile(file: string): ConfigInspection {
  return inspectConfig(readFileSync(file, 'utf8'), {
    ...fullCheck,
    baseDir: resolve(file, '..'),
  });
}

export function checkConfigText(text: string, file = '<config>'): DorvaktConfig {
  const { config, problems } = inspectConfig(text, fullCheck);
  if (!config) throw new ConfigError(file, problems);
  return config;
}

export function checkConfigFile(file: string): DorvaktConfig {
  const { config, problems } = inspectConfigFile(file);
  if (!config) throw new ConfigError(file, problems);
  resolveConfigPaths(config, resolve(file, '..'));
  return config;
}
