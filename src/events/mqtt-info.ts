import type { InfoPayload } from '../contract/mqtt.ts';
import type { DorvaktConfig } from '../config/types.ts';
import { softwareVersion } from '../ops/software-version.ts';

/** What `<base>/info` says of this controller, except what only the connection knows (protocol, time). */
export type ControllerDescription = Pick<InfoPayload, 'software' | 'site' | 'doors'> & {
  capabilities: Omit<InfoPayload['capabilities'], 'mqtt_protocol'>;
};

export function describeController(config: DorvaktConfig): ControllerDescription {
  return {
    software: { name: 'dorvakt', version: softwareVersion() },
    site: { id: config.site.id, name: config.site.name },
    doors: config.doors.map((door) => ({ id: door.id, name: door.name ?? door.id })),
    capabilities: {
      nvr: config.nvr.enabled,
      frigate_recording: config.nvr.frigate_recording.enabled,
      pin: config.doors.some((door) => door.require_pin),
      patrons: config.patrons.source,
    },
  };
}
