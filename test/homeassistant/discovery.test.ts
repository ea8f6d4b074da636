/**
 * The discovery payloads against Home Assistant's documented schema of each platform used
 * (docs/homeassistant-schemas/, written from the HA docs pages cited in each file).
 */
import { describe, expect, it } from 'vitest';
import { ALARM_CODES } from '../../src/contract/events.ts';
import {
  ALARM_ENTITIES,
  type DiscoveryContext,
  discoveryPayload,
  discoveryTopic,
} from '../../src/homeassistant/discovery.ts';
import { invalidComponents } from './ha-schemas.ts';

const ctx: DiscoveryContext = {
  prefix: 'homeassistant',
  baseTopic: 'dorvakt/hoved',
  site: { id: 'hoved', name: 'Hovedbiblioteket' },
  softwareVersion: '0.1.0',
  alarmName: (code) => `Alarm ${code}`,
};

describe('Home Assistant discovery payloads', () => {
  const payload = discoveryPayload({ id: 'front', name: 'Main entrance' }, ctx);
  const components = payload.components as Record<string, Record<string, unknown>>;

  it('are valid device-based discovery with every component valid for its platform', () => {
    expect(invalidComponents(payload)).toEqual([]);
    expect(discoveryTopic('homeassistant', 'hoved', 'front')).toBe(
      'homeassistant/device/dorvakt_hoved_front/config',
    );
  });

  it('have a lock, the contact, one binary sensor per alarm, the visits sensor and the entry event', () => {
    expect(components.lock).toMatchObject({
      platform: 'lock',
      state_topic: 'dorvakt/hoved/door/front/state',
    });
    expect(components.contact).toMatchObject({ platform: 'binary_sensor', device_class: 'door' });
    expect(components.staffless_visits_today).toMatchObject({
      state_topic: 'dorvakt/hoved/door/front/today',
    });
    expect(components.entry).toMatchObject({
      platform: 'event',
      state_topic: 'dorvakt/hoved/event',
      event_types: ['granted', 'denied'],
    });
    for (const code of ALARM_ENTITIES)
      expect(components[`alarm_${code}`]?.value_template).toContain(`'${code}'`);
    expect(ALARM_ENTITIES).toContain('fleet_rules_rejected');
    expect(ALARM_ENTITIES).not.toContain('manual_unlock');
    expect(ALARM_ENTITIES.length).toBe(ALARM_CODES.length - 1);
    expect(payload.availability).toEqual([
      { topic: 'dorvakt/hoved/status', payload_available: 'online', payload_not_available: 'offline' },
    ]);
    const ids = Object.values(components).map((c) => c.unique_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('the entry event carries outcome and reason only, from this door only', () => {
    const template = String(components.entry!.value_template);
    expect(template).toContain("value_json.door == 'front'");
    expect(template.match(/value_json\.\w+/g)?.sort()).toEqual(
      ['value_json.door', 'value_json.outcome', 'value_json.reason', 'value_json.type'].sort(),
    );
  });

  it('occupancy is an optional component: only for a door with `occupancy` in its config, and valid then', () => {
    expect(components.occupancy).toBeUndefined();
    const withOccupancy = discoveryPayload(
      { id: 'front', name: 'Main entrance', occupancy: { source: 'counter' } },
      ctx,
    );
    expect(invalidComponents(withOccupancy)).toEqual([]);
    expect((withOccupancy.components as Record<string, unknown>).occupancy).toMatchObject({
      platform: 'sensor',
      state_topic: 'dorvakt/hoved/door/front/occupancy',
    });
  });

  it('the schemas catch what Home Assistant would refuse or silently drop', () => {
    const broken = structuredClone(payload) as {
      components: Record<string, Record<string, unknown>>;
      origin?: unknown;
    };
    delete broken.components.lock!.command_topic;
    broken.components.contact!.device_class = 'doorway';
    broken.components.entry!.event_types = [];
    broken.components.staffless_visits_today!.stat_class = 'total';
    delete broken.origin;
    const problems = invalidComponents(broken);
    expect(problems.some((p) => p.startsWith('device:') && p.includes('origin'))).toBe(true);
    for (const id of ['lock', 'contact', 'entry', 'staffless_visits_today'])
      expect(
        problems.some((p) => p.startsWith(`${id}:`)),
        id,
      ).toBe(true);
  });
});
