/**
 * Child-process entry of the schedule compiler (see compiler.ts): receives one request over IPC,
 * answers with every door's day plans (or the first config error), and exits.
 */
import type { CompileReply, CompileRequest } from './compiler.ts';
import { type DayPlan, ScheduleConfigError } from './day-plan.ts';
import { LibraryPlanner } from './planner.ts';
import { addDays } from '../time/zone.ts';

function compile(request: CompileRequest): CompileReply {
  const doors: Record<string, [string, DayPlan][]> = {};
  for (const door of request.doors) {
    try {
      const planner = new LibraryPlanner(door.schedule, request.site);
      const days: [string, DayPlan][] = [];
      for (let i = 0; i < request.days; i++) {
        const date = addDays(request.from, i);
        days.push([date, planner.plan(date)]);
      }
      doors[door.id] = days;
    } catch (error) {
      if (error instanceof ScheduleConfigError) {
        return { ok: false, door: door.id, field: error.field, value: error.value, detail: error.detail };
      }
      return { ok: false, door: door.id, detail: error instanceof Error ? error.message : String(error) };
    }
  }
  return { ok: true, doors };
}

process.once('message', (request: CompileRequest) => {
  // The parent may be gone by now (killed while starting): then there is nobody to answer, just exit.
  if (!process.connected) return;
  process.send?.(compile(request), () => {
    if (process.connected) process.disconnect();
  });
});
