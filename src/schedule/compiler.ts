import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ScheduleConfig } from './config.ts';
import { type DayPlan, ScheduleConfigError, type SiteSettings } from './day-plan.ts';

export interface CompileRequest {
  doors: { id: string; schedule: ScheduleConfig }[];
  site: SiteSettings;
  /** First local date `YYYY-MM-DD`. */
  from: string;
  days: number;
}

export type CompileReply =
  | { ok: true; doors: Record<string, [string, DayPlan][]> }
  | { ok: false; door: string; field?: string; value?: string; detail: string };

/** A door's schedule setting that cannot be used, found by the compiler; names the door. */
export class DoorScheduleError extends ScheduleConfigError {
  constructor(
    readonly door: string,
    field: string,
    value: string,
    detail: string,
  ) {
    super(field, value, detail);
    // Site settings (country, region) come back without a field; their detail names the setting.
    this.message = `door "${door}": ${field ? this.message : detail}`;
    this.name = 'DoorScheduleError';
  }
}

const inSource = import.meta.url.endsWith('.ts');
const childEntry = fileURLToPath(new URL(`./compile-child.${inSource ? 'ts' : 'js'}`, import.meta.url));
// A checkout runs TypeScript through tsx; the built service (dist/) needs no loader.
const childExecArgv = inSource
  ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
  : [];

/**
 * Day plans for every door, computed in a short-lived child process. opening_hours and date-holidays hold
 * ≈ 26 MB once loaded and never let go of it (a worker thread's memory is not returned to the system
 * either), while the plans of two months take a few kB. Rejects with DoorScheduleError for a bad
 * setting and with Error when the child fails or takes longer than `timeoutMs`.
 */
export function compilePlans(
  request: CompileRequest,
  timeoutMs = 30_000,
): Promise<Map<string, Map<string, DayPlan>>> {
  return new Promise((resolve, reject) => {
    const child = fork(childEntry, [], {
      execArgv: childExecArgv,
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let settled = false;
    const finish = (error: Error | null, plans?: Map<string, Map<string, DayPlan>>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (error) reject(error);
      else resolve(plans!);
    };
    const timer = setTimeout(
      () => finish(new Error(`schedule compiler gave no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.once('error', (error) => finish(new Error(`schedule compiler could not start: ${error.message}`)));
    child.once('exit', (code, signal) =>
      finish(
        new Error(
          `schedule compiler exited (${signal ?? `code ${code}`}) without an answer${stderr ? `: ${stderr.trim()}` : ''}`,
        ),
      ),
    );
    child.once('message', (reply: CompileReply) => {
      if (!reply.ok) {
        finish(new DoorScheduleError(reply.door, reply.field ?? '', reply.value ?? '', reply.detail));
        return;
      }
      const plans = new Map<string, Map<string, DayPlan>>();
      for (const [door, days] of Object.entries(reply.doors)) plans.set(door, new Map(days));
      finish(null, plans);
    });
    child.send(request);
  });
}
