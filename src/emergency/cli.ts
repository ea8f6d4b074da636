import { parseArgs } from 'node:util';
import type { Db } from '../store/db.ts';
import {
  EMERGENCY_MODES,
  EmergencyError,
  type EmergencyModeName,
  EmergencyModes,
  parseUntil,
} from './modes.ts';

export const EMERGENCY_USAGE = `usage:
  dorvakt emergency set nobody|everybody --until 4h|YYYY-MM-DDTHH:MM|ISO --reason TEXT --config FILE
  dorvakt emergency end [--reason TEXT] --config FILE
  dorvakt emergency status --config FILE
  nobody: every swipe refused (emergency_closed); everybody: every readable card opens, each swipe recorded.
  It ends by itself at --until (a local time is in the site's time zone). The running door takes it at its next swipe.
`;

export interface EmergencyCliDeps {
  db: Db;
  actor: string;
  localToUtc: (date: string, time: string) => number | undefined;
  now?: () => number;
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

export function runEmergencyCommand(argv: string[], deps: EmergencyCliDeps): number {
  const [action, ...rest] = argv;
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: { until: { type: 'string' }, reason: { type: 'string' } },
    });
  } catch (error) {
    deps.err.write(`${(error as Error).message}\n${EMERGENCY_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const now = deps.now?.() ?? Date.now();
  const modes = new EmergencyModes(deps.db);
  const reason = typeof values.reason === 'string' ? values.reason : undefined;
  try {
    if (action === 'status') {
      const current = modes.current(new Date(now));
      deps.out.write(
        current
          ? `${current.mode} until ${new Date(current.until).toISOString()}: ${current.reason}\n`
          : 'no emergency mode\n',
      );
      return 0;
    }
    if (action === 'end') {
      const ended = modes.end(deps.actor, reason, now);
      deps.out.write(ended ? 'emergency mode ended\n' : 'no emergency mode in force\n');
      return ended ? 0 : 1;
    }
    if (action === 'set') {
      const mode = positionals[0] as EmergencyModeName;
      if (!EMERGENCY_MODES.includes(mode)) throw new EmergencyError('say nobody or everybody');
      const until =
        typeof values.until === 'string' ? parseUntil(values.until, now, deps.localToUtc) : undefined;
      if (until === undefined)
        throw new EmergencyError('--until must be e.g. 4h, 2026-12-01T08:00 or an ISO time');
      const set = modes.set({ mode, until, reason: reason ?? '' }, deps.actor, now);
      deps.out.write(`emergency mode ${set.mode} until ${new Date(set.until).toISOString()}\n`);
      return 0;
    }
  } catch (error) {
    if (error instanceof EmergencyError) {
      deps.err.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  deps.err.write(EMERGENCY_USAGE);
  return 2;
}
