import { LibraryPlanner } from '../schedule/planner.ts';
import { ScheduleConfigError } from '../schedule/schedule.ts';
import { type ConfigProblem, loadConfig, type ParseOptions, parseConfig } from './load.ts';
import type { DorvaktConfig } from './types.ts';

/**
 * The full check behind `dorvakt check-config`: everything load.ts checks plus each door's schedule
 * (opening_hours expressions, exceptions, site country/region/zone). It loads the calendar libraries,
 * which the running service keeps out of its own memory.
 */
export function checkSchedules(config: DorvaktConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.doors.forEach((door, i) => {
    try {
      new LibraryPlanner(door.schedule, config.site);
    } catch (error) {
      const field = error instanceof ScheduleConfigError ? error.field.replace(/\[(\d+)\]/g, '.$1') : '';
      const key = field.startsWith('site.') ? field : `doors.${i}.schedule${field ? `.${field}` : ''}`;
      problems.push({
        key,
        line: null,
        message: error instanceof ScheduleConfigError ? error.detail : (error as Error).message,
      });
    }
  });
  return problems;
}

const fullCheck: ParseOptions = { extraChecks: checkSchedules };

export function checkConfigText(text: string, file = '<config>'): DorvaktConfig {
  return parseConfig(text, file, fullCheck);
}

export function checkConfigFile(file: string): DorvaktConfig {
  return loadConfig(file, fullCheck);
}
