/**
 * Home Assistant MQTT discovery payloads (device-based, `<prefix>/device/<id>/config`), one device per door,
 * modelled on zigbee2mqtt's homeassistant extension. Every entity reads a topic Dørvakt publishes anyway
 * (docs/mqtt.md): door state, `<base>/event`, `<base>/door/<door>/today`, with `<base>/status` as availability.
 * Pure: building a payload touches nothing.
 */
import { ALARM_CODES, type AlarmCode } from '../contract/events.ts';

/** Alarm codes that are no longer raised; no entity for them. */
const RETIRED_ALARMS: readonly AlarmCode[] = ['manual_unlock'];
export const ALARM_ENTITIES: readonly AlarmCode[] = ALARM_CODES.filter((c) => !RETIRED_ALARMS.includes(c));

/** Entry outcomes as the event entity's types. */
export const ENTRY_EVENT_TYPES = ['granted', 'denied'] as const;

export interface DiscoveryDoor {
  id: string;
  name: string;
  /** Set when the door has an occupancy source (`doors[].occupancy`): the "inside now" sensor. */
  occupancy?: unknown;
}

export interface DiscoveryContext {
  prefix: string;
  baseTopic: string;
  site: { id: string; name: string };
  softwareVersion: string;
  /** Words for the alarm entities (English: Home Assistant translates its own UI, not ours). */
  alarmName: (code: AlarmCode) => string;
}

export type Component = Record<string, unknown> & { platform: string; unique_id: string };

/** An entity that exists only when the door's config has what it reads. */
interface OptionalComponent {
  key: string;
  when: (door: DiscoveryDoor) => boolean;
  build: (door: DiscoveryDoor, ctx: DiscoveryContext, uid: (key: string) => string) => Component;
}

/**
 * Optional entities, each with its condition. Occupancy reads `<base>/door/<door>/occupancy` (`{inside, ts}`,
 * the building's count, retained), published by the bridge for each door listed in `occupancy.doors`.
 */
export const OPTIONAL_COMPONENTS: readonly OptionalComponent[] = [
  {
    key: 'occupancy',
    when: (door) => door.occupancy !== undefined && door.occupancy !== null,
    build: (door, ctx, uid) => ({
      platform: 'sensor',
      unique_id: uid('occupancy'),
      name: 'Inside now',
      state_topic: `${ctx.baseTopic}/door/${door.id}/occupancy`,
      value_template: '{{ value_json.inside }}',
      state_class: 'measurement',
      unit_of_measurement: 'people',
      icon: 'mdi:account-group',
    }),
  },
];

export const deviceId = (site: string, door: string) => `dorvakt_${site}_${door}`;

export function discoveryTopic(prefix: string, site: string, door: string): string {
  return `${prefix}/device/${deviceId(site, door)}/config`;
}

/** The discovery payload of one door. */
export function discoveryPayload(door: DiscoveryDoor, ctx: DiscoveryContext): Record<string, unknown> {
  const id = deviceId(ctx.site.id, door.id);
  const uid = (key: string) => `${id}_${key}`;
  const stateTopic = `${ctx.baseTopic}/door/${door.id}/state`;
  const components: Record<string, Component> = {
    lock: {
      platform: 'lock',
      unique_id: uid('lock'),
      name: null,
      state_topic: stateTopic,
      value_template: "{{ 'LOCKED' if value_json.locked else 'UNLOCKED' }}",
      state_locked: 'LOCKED',
      state_unlocked: 'UNLOCKED',
      // Required by the lock platform; the controller refuses what arrives here unless lock_commands is on.
      command_topic: `${ctx.baseTopic}/door/${door.id}/lock/set`,
      payload_lock: 'LOCK',
      payload_unlock: 'UNLOCK',
      optimistic: false,
      qos: 1,
    },
    contact: {
      platform: 'binary_sensor',
      unique_id: uid('contact'),
      name: 'Door',
      device_class: 'door',
      state_topic: stateTopic,
      value_template: "{{ 'ON' if value_json.open else 'OFF' }}",
      payload_on: 'ON',
      payload_off: 'OFF',
    },
    staffless_visits_today: {
      platform: 'sensor',
      unique_id: uid('staffless_visits_today'),
      name: 'Staffless visits today',
      state_topic: `${ctx.baseTopic}/door/${door.id}/today`,
      value_template: '{{ value_json.staffless_visits }}',
      state_class: 'total',
      unit_of_measurement: 'visits',
      icon: 'mdi:door-open',
    },
    entry: {
      platform: 'event',
      unique_id: uid('entry'),
      name: 'Entry',
      state_topic: `${ctx.baseTopic}/event`,
      event_types: [...ENTRY_EVENT_TYPES],
      // Only this door's entries; anything else renders empty, which Home Assistant ignores. Outcome and
      // reason only: the contract's entry carries no identity anyway.
      value_template: `{% if value_json.type == 'entry' and value_json.door == '${door.id}' %}{"event_type": "{{ value_json.outcome }}", "reason": "{{ value_json.reason }}"}{% endif %}`,
    },
  };
  for (const code of ALARM_ENTITIES) {
    components[`alarm_${code}`] = {
      platform: 'binary_sensor',
      unique_id: uid(`alarm_${code}`),
      name: ctx.alarmName(code),
      device_class: 'problem',
      entity_category: 'diagnostic',
      state_topic: stateTopic,
      value_template: `{{ 'ON' if '${code}' in value_json.alarm else 'OFF' }}`,
      payload_on: 'ON',
      payload_off: 'OFF',
    };
  }
  for (const optional of OPTIONAL_COMPONENTS)
    if (optional.when(door)) components[optional.key] = optional.build(door, ctx, uid);
  return {
    device: {
      identifiers: [id],
      name: ctx.site.name ? `${ctx.site.name} ${door.name}` : door.name,
      manufacturer: 'Dørvakt',
      model: 'Library door controller',
      sw_version: ctx.softwareVersion,
    },
    origin: { name: 'Dørvakt', sw_version: ctx.softwareVersion },
    availability: [
      { topic: `${ctx.baseTopic}/status`, payload_available: 'online', payload_not_available: 'offline' },
    ],
    qos: 1,
    components,
  };
}
