import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import type { EventBus } from '../events/bus.ts';
import type { LineOpener } from '../door/gpio-line.ts';
import type { Logger } from '../log/logger.ts';
import type { SiteState } from '../contract/events.ts';
import { Announcer } from './announcer.ts';
import type { Language, StatesConfig } from './config.ts';
import type { EmergencyMode } from './emergency.ts';
import { StateEngine } from './engine.ts';
import type { ScheduleReader } from './timeline.ts';

export { StateEngine } from './engine.ts';

export interface StartStatesOptions {
  config: StatesConfig;
  /** The site's language: what is announced when `announcements.languages` is empty. */
  language: Language;
  schedule: ScheduleReader;
  bus: EventBus;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  mqtt?: MqttClient | undefined;
  log: Logger;
  emergency?: EmergencyMode | undefined;
  opener?: LineOpener | undefined;
  now?: () => Date;
  tickMs?: number;
  holdBack?: ((output: string, value: string, state: SiteState) => boolean) | undefined;
}

/** The engine with its announcer, started. */
export async function startStates(options: StartStatesOptions): Promise<StateEngine> {
  const { config } = options;
  const announcements = config.announcements;
  const announcer = announcements.enabled
    ? new Announcer({
        config: announcements,
        languages: announcements.languages.length > 0 ? announcements.languages : [options.language],
        alarms: options.alarms,
        log: options.log,
        mqtt: options.mqtt,
      })
    : undefined;
  const engine = new StateEngine({ ...options, announcer });
  await engine.start();
  return engine;
}
