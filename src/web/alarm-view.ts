import type { ActiveAlarm } from '../alarms/alarms.ts';
import type { DorvaktConfig } from '../config/types.ts';
import { ALARM_LABELS, type MessageKey, translator } from './i18n.ts';
import type { Language } from './users.ts';

type AlarmFacts = Pick<ActiveAlarm, 'code' | 'clearedAt' | 'ackedAt'>;

/** The alarm's kind in plain words (the code stays visible beside it on the pages). */
export const alarmLabel = (code: string, lang: Language): string =>
  ALARM_LABELS[code as ActiveAlarm['code']]?.[lang] ?? code;

export function alarmStateKey(alarm: AlarmFacts): MessageKey {
  if (alarm.clearedAt === null)
    return alarm.ackedAt === null ? 'alarm.state.active' : 'alarm.state.acked_active';
  return alarm.ackedAt === null ? 'alarm.state.cleared' : 'alarm.state.done';
}

/** CSS class of an alarm row by state (the words say the same). */
export function alarmStateClass(alarm: AlarmFacts): string {
  if (alarm.clearedAt === null) return alarm.ackedAt === null ? 'active' : 'acked';
  return alarm.ackedAt === null ? 'cleared' : 'done';
}

/** What an alarm is about: a door's name, "whole site", or the scope as given (a camera, a part). */
export function scopeName(config: DorvaktConfig, scope: string, lang: Language): string {
  if (scope === '') return translator(lang)('alarms.site_wide');
  const door = config.doors.find((d) => d.id === scope);
  return door ? (door.name ?? door.id) : scope;
}

export interface AlarmSummary {
  /** Alarms nobody has acknowledged yet (active or cleared). */
  unacknowledged: number;
  /** The newest unacknowledged alarm: the page announces it when it is newer than what it saw. */
  newest: { id: number; raisedAt: number; title: string; body: string } | null;
}

/** What every dashboard page needs for its title count, sound and notification. */
export function alarmSummary(
  config: DorvaktConfig,
  alarms: readonly ActiveAlarm[],
  lang: Language,
): AlarmSummary {
  const waiting = alarms.filter((a) => a.ackedAt === null);
  let newest: ActiveAlarm | undefined;
  for (const a of waiting)
    if (!newest || a.raisedAt > newest.raisedAt || (a.raisedAt === newest.raisedAt && a.id > newest.id))
      newest = a;
  return {
    unacknowledged: waiting.length,
    newest: newest
      ? {
          id: newest.id,
          raisedAt: newest.raisedAt,
          title: alarmLabel(newest.code, lang),
          body: scopeName(config, newest.door, lang),
        }
      : null,
  };
}
