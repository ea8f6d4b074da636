/** The fleet payloads: schema files equal the code's, the documented examples pass both, the alarm MAC holds. */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  FLEET_SCHEMAS,
  fleetAckSchema,
  fleetFiguresSchema,
  fleetFiguresV1Schema,
  fleetHealthSchema,
  fleetOpeningHoursSchema,
  parseAck,
  parseAlarmAck,
  parseFigures,
  parseHealth,
  parseOpeningHours,
  signAlarmAck,
} from '../../src/contract/fleet.ts';

const docs = readFileSync('docs/mqtt.md', 'utf8');
const fleetSection = docs.slice(docs.indexOf('## Fleet (branch ↔ centre)'), docs.indexOf('## Security'));
const ajv = new Ajv({ strict: false });
const KEY = Buffer.from('site-fleet-key-0123456789abcdef');

describe('fleet contract', () => {
  it('the schema files equal the exported schemas', () => {
    for (const [name, schema] of Object.entries(FLEET_SCHEMAS)) {
      const file = JSON.parse(readFileSync(`docs/mqtt-schemas/${name}.schema.json`, 'utf8'));
      expect(file, name).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });

  it('the documented examples pass the schemas and the parsers', () => {
    const examples = fleetSection.split('\n').filter((l) => l.startsWith('{"v":'));
    expect(examples).toHaveLength(4);
    const [figures, opening, ack, health] = examples as [string, string, string, string];
    expect(ajv.validate(fleetOpeningHoursSchema, JSON.parse(opening))).toBe(true);
    expect(parseOpeningHours(opening).ok).toBe(true);
    expect(ajv.validate(fleetFiguresSchema, JSON.parse(figures))).toBe(true);
    expect(parseFigures(figures)).toMatchObject({ ok: true, value: { v: 2, passages: [{ door: 'front' }] } });
    expect(ajv.validate(fleetAckSchema, JSON.parse(ack))).toBe(true);
    expect(parseAck(ack).ok).toBe(true);
    expect(ajv.validate(fleetHealthSchema, JSON.parse(health))).toBe(true);
    expect(parseHealth(health).ok).toBe(true);
  });

  it('refuses opening hours the schema refuses', () => {
    const good = {
      v: 1,
      id: 'ab-1',
      week: '2026-W49',
      made_at: 1,
      days: [{ day: '2026-11-30', staffed: 6, staffless: 9 }],
    };
    expect(parseOpeningHours(JSON.stringify(good)).ok).toBe(true);
    for (const bad of [
      { ...good, week: '2026-49' },
      { ...good, days: [{ day: '2026-11-30', staffed: 26, staffless: 0 }] },
      { ...good, days: [{ day: '2026-11-30', staffed: -1, staffless: 0 }] },
      { ...good, days: Array.from({ length: 8 }, () => good.days[0]) },
      { ...good, id: 'not an id' },
    ]) {
      expect(parseOpeningHours(JSON.stringify(bad)).ok, JSON.stringify(bad)).toBe(false);
      expect(ajv.validate(fleetOpeningHoursSchema, bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('takes v1 figures (a branch not yet upgraded) as an hour without passages', () => {
    const v1 = { v: 1, id: 'ab12-7', day: '2026-11-30', hour: 3, made_at: 1, rows: [] };
    expect(ajv.validate(fleetFiguresV1Schema, v1)).toBe(true);
    expect(parseFigures(JSON.stringify(v1))).toEqual({ ok: true, value: { ...v1, passages: [] } });
    // Passages belong to v2 only.
    const withPassages = { ...v1, passages: [] };
    expect(parseFigures(JSON.stringify(withPassages)).ok).toBe(false);
    expect(ajv.validate(fleetFiguresV1Schema, withPassages)).toBe(false);
  });

  it('refuses figures the schema refuses', () => {
    const good = {
      v: 2,
      id: 'ab12-7',
      day: '2026-11-30',
      hour: 3,
      made_at: 1,
      rows: [] as unknown[],
      passages: [] as unknown[],
    };
    const passage = { door: 'front', mode: 'staffless', in: 3, out: 1 };
    const row = {
      door: 'front',
      mode: 'staffless',
      outcome: 'granted',
      reason: 'allow',
      category: '',
      age_band: '',
      count: 1,
    };
    for (const bad of [
      { ...good, hour: 24 },
      { ...good, day: '30.11.2026' },
      { ...good, id: 'no-instance' },
      { ...good, v: 3 },
      { ...good, passages: undefined },
      { ...good, passages: [{ ...passage, in: -1 }] },
      { ...good, passages: [{ ...passage, out: 1.5 }] },
      { ...good, passages: [{ ...passage, door: 'a b' }] },
      { ...good, passages: [{ ...passage, card_hash: 'x' }] },
      { ...good, card: '1234' },
      { ...good, rows: [{ ...row, count: -1 }] },
      { ...good, rows: [{ ...row, outcome: 'maybe' }] },
      { ...good, rows: [{ ...row, door: 'a b' }] },
    ]) {
      expect(parseFigures(JSON.stringify(bad)).ok, JSON.stringify(bad)).toBe(false);
      expect(ajv.validate(fleetFiguresSchema, bad), JSON.stringify(bad)).toBe(false);
    }
    expect(parseFigures(JSON.stringify({ ...good, rows: [row], passages: [passage] })).ok).toBe(true);
    expect(ajv.validate(fleetFiguresSchema, { ...good, rows: [row], passages: [passage] })).toBe(true);
    expect(parseFigures('not json').ok).toBe(false);
  });

  it('an alarm acknowledgement holds only with the site key, for that site, unchanged', () => {
    const ack = signAlarmAck('north', KEY, { alarm: 'door_forced', scope: 'front', by: 'Åse', at: 1000 });
    expect(ajv.validate(FLEET_SCHEMAS['fleet-v1-alarm-ack'], ack)).toBe(true);
    expect(parseAlarmAck('north', KEY, JSON.stringify(ack))).toMatchObject({ ok: true });
    expect(parseAlarmAck('south', KEY, JSON.stringify(ack))).toEqual({ ok: false, why: 'bad_mac' });
    expect(parseAlarmAck('north', Buffer.from('other key'), JSON.stringify(ack))).toEqual({
      ok: false,
      why: 'bad_mac',
    });
    for (const change of [{ at: 2000 }, { scope: null }, { alarm: 'door_held_open' }, { by: 'mallory' }])
      expect(parseAlarmAck('north', KEY, JSON.stringify({ ...ack, ...change }))).toEqual({
        ok: false,
        why: 'bad_mac',
      });
    const { mac: _mac, ...unsigned } = ack;
    expect(parseAlarmAck('north', KEY, JSON.stringify(unsigned))).toEqual({ ok: false, why: 'unsigned' });
  });
});
