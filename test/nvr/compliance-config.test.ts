import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ComplianceFinding } from '../../src/contract/nvr.ts';
import { checkFrigateConfig } from '../../src/nvr-agent/compliance/frigate-config.ts';
import {
  deepMerge,
  effectiveFrigateConfig,
  type FrigateSchema,
  frigateSchema,
  unknownKeys,
} from '../../src/nvr-agent/compliance/frigate-schema.ts';

type Obj = Record<string, unknown>;
const SNIPPETS: Record<FrigateSchema, { file: string; version: string }> = {
  '0.14': { file: 'docs/frigate/frigate-0.14.yml', version: '0.14.1-f4f3cfa' },
  '0.15-0.16': { file: 'docs/frigate/frigate-0.15-0.16.yml', version: '0.16.2-4d58206' },
  '0.17+': { file: 'docs/frigate/frigate-0.17+.yml', version: '0.17.0-1a2b3c4' },
};
const SCHEMAS = Object.keys(SNIPPETS) as FrigateSchema[];

function snippet(schema: FrigateSchema): Obj {
  const file = parse(readFileSync(SNIPPETS[schema].file, 'utf8')) as Obj;
  // Two cameras that set nothing themselves: they inherit the global values, as in Frigate.
  return { ...file, cameras: { entrance: {}, _hall: {} } };
}

function check(schema: FrigateSchema, file: Obj, days = 7): ComplianceFinding[] {
  return checkFrigateConfig(effectiveFrigateConfig(file, schema), SNIPPETS[schema].version, days);
}

/** Each rule of a schema: a change to the snippet that breaks it, and the one finding it must give. */
function violations(schema: FrigateSchema): [string, Obj, ComplianceFinding['kind'], string?][] {
  const record = (r: Obj): Obj => ({ record: r });
  const common: [string, Obj, ComplianceFinding['kind'], string?][] = [
    ['snapshots default', { snapshots: { retain: { default: 10 } } }, 'config_snapshots'],
    ['snapshots per object', { snapshots: { retain: { objects: { person: 14 } } } }, 'config_snapshots'],
    [
      'snapshots per camera',
      { cameras: { entrance: { snapshots: { retain: { default: 30 } } } } },
      'config_snapshots',
      'entrance',
    ],
    ['expire_interval', record({ expire_interval: 200 }), 'config_expire_interval'],
    [
      'expire_interval per camera',
      { cameras: { _hall: { record: { expire_interval: 600 } } } },
      'config_expire_interval',
      '_hall',
    ],
  ];
  if (schema === '0.14') {
    return [
      ...common,
      ['continuous (retain, mode all)', record({ retain: { days: 8 } }), 'config_continuous'],
      ['motion (retain, mode motion)', record({ retain: { days: 8, mode: 'motion' } }), 'config_motion'],
      ['events default', record({ events: { retain: { default: 10 } } }), 'config_events'],
      ['events per object', record({ events: { retain: { objects: { person: 30 } } } }), 'config_events'],
      [
        'events per camera',
        { cameras: { entrance: { record: { events: { retain: { default: 30 } } } } } },
        'config_events',
        'entrance',
      ],
      ['unreadable days', record({ retain: { days: 'seven' } }), 'config_unreadable'],
    ];
  }
  const events: [string, Obj, ComplianceFinding['kind'], string?][] = [
    ['alerts', record({ alerts: { retain: { days: 10 } } }), 'config_alerts'],
    ['detections', record({ detections: { retain: { days: 10 } } }), 'config_detections'],
    [
      'alerts per camera',
      { cameras: { entrance: { record: { alerts: { retain: { days: 30 } } } } } },
      'config_alerts',
      'entrance',
    ],
  ];
  if (schema === '0.15-0.16') {
    return [
      ...common,
      ...events,
      ['continuous (retain, mode all)', record({ retain: { days: 8 } }), 'config_continuous'],
      ['motion (retain, mode motion)', record({ retain: { days: 8, mode: 'motion' } }), 'config_motion'],
      ['unreadable days', record({ retain: { days: null } }), 'config_unreadable'],
    ];
  }
  return [
    ...common,
    ...events,
    ['continuous', record({ continuous: { days: 8 } }), 'config_continuous'],
    ['motion', record({ motion: { days: 8 } }), 'config_motion'],
    [
      'continuous per camera',
      { cameras: { _hall: { record: { continuous: { days: 30 } } } } },
      'config_continuous',
      '_hall',
    ],
    ['unreadable days', record({ motion: { days: -1 } }), 'config_unreadable'],
  ];
}

describe('Frigate version → config schema', () => {
  it('reads Frigate version strings', () => {
    expect(frigateSchema('0.14.1-f4f3cfa')).toBe('0.14');
    expect(frigateSchema('0.15.0')).toBe('0.15-0.16');
    expect(frigateSchema('0.16.2-4d58206')).toBe('0.15-0.16');
    expect(frigateSchema('0.17.0-beta1')).toBe('0.17+');
    expect(frigateSchema('0.18.0-dev')).toBe('0.17+');
    expect(frigateSchema('1.0.0')).toBe('0.17+');
    expect(frigateSchema('0.13.2')).toBeNull();
    expect(frigateSchema('unknown')).toBeNull();
  });
});

describe.each(SCHEMAS)('Frigate %s schema', (schema) => {
  it('the shipped snippet passes for 7 days, with Frigate defaults applied', () => {
    expect(check(schema, snippet(schema))).toEqual([]);
  });

  it("Frigate's own defaults do not pass (alerts/detections/snapshots keep 10 days)", () => {
    const kinds = check(schema, { record: { enabled: true }, cameras: { entrance: {} } }).map((f) => f.kind);
    expect(kinds).toContain('config_snapshots');
    expect(kinds).toContain(schema === '0.14' ? 'config_events' : 'config_alerts');
  });

  it.each(violations(schema))('breaking %s gives exactly its finding', (_name, change, kind, camera) => {
    const findings = check(schema, deepMerge(snippet(schema), change));
    expect(findings.map((f) => [f.kind, f.camera])).toEqual([[kind, camera]]);
    expect(findings[0]?.detail).toMatch(kind === 'config_unreadable' ? /days/ : /= \d/);
  });

  it('the snippet uses only keys this schema defines', () => {
    expect(unknownKeys(snippet(schema), schema)).toEqual([]);
  });
});

describe('what the old docs snippet does on 0.17+', () => {
  const old = {
    record: {
      enabled: true,
      retain: { days: 7, mode: 'all' },
      alerts: { retain: { days: 7 } },
      detections: { retain: { days: 7 } },
      sync_recordings: true,
    },
  };
  it('has keys 0.17+ does not define (Frigate starts in safe mode when no migration rewrites them)', () => {
    expect(unknownKeys(old, '0.17+')).toEqual(['record.retain', 'record.sync_recordings']);
    expect(unknownKeys(old, '0.15-0.16')).toEqual([]);
    expect(unknownKeys(old, '0.14')).toEqual(['record.alerts', 'record.detections']);
  });
});

describe('what the checker refuses to guess', () => {
  it('safe mode in /api/config is its own finding', () => {
    expect(checkFrigateConfig({ safe_mode: true, cameras: {} }, '0.17.0', 7).map((f) => f.kind)).toEqual([
      'recorder_safe_mode',
    ]);
  });
  it('an unknown version, a non-object or a missing section is config_unreadable', () => {
    const good = effectiveFrigateConfig(snippet('0.17+'), '0.17+');
    expect(checkFrigateConfig(good, '0.13.2', 7).map((f) => f.kind)).toEqual(['config_unreadable']);
    expect(checkFrigateConfig('<html>', '0.17.0', 7).map((f) => f.kind)).toEqual(['config_unreadable']);
    const noCams = { ...good, cameras: undefined };
    expect(checkFrigateConfig(noCams, '0.17.0', 7).map((f) => f.kind)).toEqual(['config_unreadable']);
    const cams = good.cameras as Obj;
    const brokenCam = { ...good, cameras: { ...cams, entrance: { record: {} } } };
    expect(checkFrigateConfig(brokenCam, '0.17.0', 7).map((f) => [f.kind, f.camera])).toEqual([
      ['config_unreadable', 'entrance'],
    ]);
  });
  it('reads the 0.15–0.16 snippet with the 0.17 schema as unreadable, not as compliant', () => {
    const f = checkFrigateConfig(effectiveFrigateConfig(snippet('0.15-0.16'), '0.15-0.16'), '0.17.0', 7);
    expect(f.map((x) => x.kind)).toContain('config_unreadable');
  });
  it('a Danish site with 30 days passes Frigate defaults for alerts but not unlimited-looking values', () => {
    const file = deepMerge(snippet('0.17+'), { record: { alerts: { retain: { days: 10 } } } });
    expect(check('0.17+', file, 30)).toEqual([]);
    expect(
      check('0.17+', deepMerge(file, { record: { alerts: { retain: { days: 365 } } } }), 30),
    ).toHaveLength(1);
  });
});
