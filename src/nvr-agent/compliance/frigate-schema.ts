/**
 * Frigate's config schema per version, as far as retention goes: the defaults its pydantic models apply
 * and how global sections reach each camera. Read from blakeblackshear/frigate (see
 * docs/recorders/frigate-compliance.md); used by the checker to name the schema and by tests to build the
 * effective config a version would report in `GET /api/config`.
 */

export type FrigateSchema = '0.14' | '0.15-0.16' | '0.17+';

/** `0.16.2-4d58206` → `0.15-0.16`; anything below 0.14 or unparsable → null. */
export function frigateSchema(version: string): FrigateSchema | null {
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim());
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major > 0) return '0.17+';
  if (minor >= 17) return '0.17+';
  if (minor >= 15) return '0.15-0.16';
  if (minor === 14) return '0.14';
  return null;
}

type Obj = Record<string, unknown>;

const eventsDefaults = () => ({ pre_capture: 5, post_capture: 5, retain: { days: 10, mode: 'motion' } });

/** RecordConfig defaults, only the keys the schema defines (record.py / config.py of that version). */
export function recordDefaults(schema: FrigateSchema): Obj {
  const base = { enabled: false, expire_interval: 60, preview: { quality: 'medium' } };
  if (schema === '0.14') {
    return {
      ...base,
      sync_recordings: false,
      retain: { days: 0, mode: 'all' },
      events: {
        pre_capture: 5,
        post_capture: 5,
        objects: null,
        retain: { default: 10, mode: 'motion', objects: {} },
      },
      export: { timelapse_args: '-vf setpts=0.04*PTS -r 30' },
    };
  }
  if (schema === '0.15-0.16') {
    return {
      ...base,
      sync_recordings: false,
      retain: { days: 0, mode: 'all' },
      alerts: eventsDefaults(),
      detections: eventsDefaults(),
      export: { timelapse_args: '-vf setpts=0.04*PTS -r 30' },
    };
  }
  // 0.17 and 0.18 share these keys; 0.17 also has sync_recordings and max_size, 0.18 drops them.
  return {
    ...base,
    continuous: { days: 0 },
    motion: { days: 0 },
    alerts: eventsDefaults(),
    detections: eventsDefaults(),
  };
}

/** SnapshotsConfig defaults (the retain block is the same in every version read). */
export function snapshotsDefaults(): Obj {
  return {
    enabled: false,
    clean_copy: true,
    timestamp: false,
    bounding_box: true,
    crop: false,
    required_zones: [],
    height: null,
    retain: { default: 10, mode: 'motion', objects: {} },
    quality: 70,
  };
}

/**
 * Keys the retention-relevant sections define in a schema, for the "no unknown key" check: Frigate's
 * models forbid extra keys, and on 0.17+ a config that fails validation starts in safe mode.
 */
export const RECORD_KEYS: Record<FrigateSchema, readonly string[]> = {
  '0.14': ['enabled', 'sync_recordings', 'expire_interval', 'retain', 'events', 'export', 'preview'],
  '0.15-0.16': [
    'enabled',
    'sync_recordings',
    'expire_interval',
    'retain',
    'detections',
    'alerts',
    'export',
    'preview',
  ],
  // Keys both 0.17 and 0.18 define; sync_recordings and max_size exist in 0.17 only.
  '0.17+': [
    'enabled',
    'expire_interval',
    'continuous',
    'motion',
    'detections',
    'alerts',
    'export',
    'preview',
  ],
};
export const SNAPSHOT_KEYS = Object.keys(snapshotsDefaults());

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Values of `over` win; nested mappings merge (Frigate's deep_merge of camera over global). */
export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/**
 * The effective config `GET /api/config` reports for a config file: defaults applied to the global
 * sections, and each camera built from the global values the file set, overridden by the camera's own,
 * then defaults (`runtime_config`: model_dump(exclude_unset) of global merged under the camera).
 */
export function effectiveFrigateConfig(file: Obj, schema: FrigateSchema): Obj {
  const globalRecord = isObj(file.record) ? file.record : {};
  const globalSnapshots = isObj(file.snapshots) ? file.snapshots : {};
  const cameras = isObj(file.cameras) ? file.cameras : {};
  const outCameras: Obj = {};
  for (const [name, cam] of Object.entries(cameras)) {
    const c = isObj(cam) ? cam : {};
    const record = deepMerge(globalRecord, isObj(c.record) ? c.record : {});
    const snapshots = deepMerge(globalSnapshots, isObj(c.snapshots) ? c.snapshots : {});
    outCameras[name] = {
      ...c,
      name,
      record: deepMerge(recordDefaults(schema), record),
      snapshots: deepMerge(snapshotsDefaults(), snapshots),
    };
  }
  return {
    ...file,
    record: deepMerge(recordDefaults(schema), globalRecord),
    snapshots: deepMerge(snapshotsDefaults(), globalSnapshots),
    cameras: outCameras,
  };
}

/**
 * Paths in a config file's `record` and `snapshots` that the schema does not define (its models forbid
 * extra keys). Per-label `objects` maps are free-form. On 0.17+ any such key puts Frigate in safe mode.
 */
export function unknownKeys(file: Obj, schema: FrigateSchema): string[] {
  const out: string[] = [];
  const allowed: Obj = {
    record: Object.fromEntries(
      RECORD_KEYS[schema].map((k) => [k, (recordDefaults(schema) as Obj)[k] ?? RECORD_SUBTREES[k] ?? null]),
    ),
    snapshots: snapshotsDefaults(),
  };
  const walk = (value: unknown, shape: unknown, path: string) => {
    if (!isObj(value) || !isObj(shape)) return;
    for (const [k, v] of Object.entries(value)) {
      if (!(k in shape)) out.push(`${path}.${k}`);
      else if (k !== 'objects') walk(v, shape[k], `${path}.${k}`);
    }
  };
  for (const section of ['record', 'snapshots'] as const) {
    walk(file[section], allowed[section], section);
    const cams = isObj(file.cameras) ? file.cameras : {};
    for (const [name, cam] of Object.entries(cams)) {
      if (isObj(cam)) walk(cam[section], allowed[section], `cameras.${name}.${section}`);
    }
  }
  return out;
}

/** Sub-keys of record sections whose defaults this module does not spell out (free for the check). */
const RECORD_SUBTREES: Obj = { export: {}, preview: { quality: null } };
