/** Checks Frigate's effective config (`GET /api/config`) against the site's retention, per Frigate version. */
import type { ComplianceFinding, FindingKind } from '../../contract/nvr.ts';
import { type FrigateSchema, frigateSchema } from './frigate-schema.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const MIN_PER_DAY = 1440;

/** One retention setting read from one scope (global or a camera). */
interface Setting {
  kind: FindingKind;
  path: string;
  days: number;
  /** Recording settings wait for the next `expire_interval` cleanup; snapshots do not. */
  recording: boolean;
}

class Unreadable extends Error {}

function num(scope: Obj, path: string[], label: string): number {
  let v: unknown = scope;
  for (const key of path) {
    if (!isObj(v)) throw new Unreadable(`${label}: missing`);
    v = v[key];
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new Unreadable(`${label}: ${JSON.stringify(v) ?? 'missing'}`);
  }
  return v;
}

function objectDays(scope: Obj, path: string[], label: string): [string, number][] {
  let v: unknown = scope;
  for (const key of path) v = isObj(v) ? v[key] : undefined;
  if (v === undefined || v === null) return [];
  if (!isObj(v)) throw new Unreadable(`${label}: ${JSON.stringify(v)}`);
  return Object.keys(v).map((label2) => [label2, num(v as Obj, [label2], `${label}.${label2}`)]);
}

/** Every retention setting of one scope, in the schema of its version. */
function settingsOf(schema: FrigateSchema, record: Obj, snapshots: Obj): Setting[] {
  const out: Setting[] = [];
  const rec = (kind: FindingKind, path: string[]) =>
    out.push({
      kind,
      path: `record.${path.join('.')}`,
      days: num(record, path, `record.${path.join('.')}`),
      recording: true,
    });
  if (schema === '0.17+') {
    rec('config_continuous', ['continuous', 'days']);
    rec('config_motion', ['motion', 'days']);
  } else {
    // ≤ 0.16: one block whose mode says what it keeps; `all` is continuous recording.
    const mode = isObj(record.retain) ? record.retain.mode : undefined;
    rec(mode === 'motion' || mode === 'active_objects' ? 'config_motion' : 'config_continuous', [
      'retain',
      'days',
    ]);
  }
  if (schema === '0.14') {
    rec('config_events', ['events', 'retain', 'default']);
    for (const [label, days] of objectDays(
      record,
      ['events', 'retain', 'objects'],
      'record.events.retain.objects',
    )) {
      out.push({
        kind: 'config_events',
        path: `record.events.retain.objects.${label}`,
        days,
        recording: true,
      });
    }
  } else {
    rec('config_alerts', ['alerts', 'retain', 'days']);
    rec('config_detections', ['detections', 'retain', 'days']);
  }
  out.push({
    kind: 'config_snapshots',
    path: 'snapshots.retain.default',
    days: num(snapshots, ['retain', 'default'], 'snapshots.retain.default'),
    recording: false,
  });
  for (const [label, days] of objectDays(snapshots, ['retain', 'objects'], 'snapshots.retain.objects')) {
    out.push({ kind: 'config_snapshots', path: `snapshots.retain.objects.${label}`, days, recording: false });
  }
  return out;
}

interface Scope {
  camera?: string;
  settings: Setting[];
  expireInterval: number;
}

function readScope(schema: FrigateSchema, holder: Obj, camera?: string): Scope {
  const where = camera ? `cameras.${camera}.` : '';
  if (!isObj(holder.record)) throw new Unreadable(`${where}record: missing`);
  if (!isObj(holder.snapshots)) throw new Unreadable(`${where}snapshots: missing`);
  const record = holder.record;
  const expireInterval = num(record, ['expire_interval'], `${where}record.expire_interval`);
  return { camera, settings: settingsOf(schema, record, holder.snapshots), expireInterval };
}

const fmt = (n: number) => String(Math.round(n * 1000) / 1000);

function judge(
  scope: Scope,
  retentionDays: number,
  inherited: Map<string, number> | null,
): ComplianceFinding[] {
  const findings: ComplianceFinding[] = [];
  const limit = retentionDays * MIN_PER_DAY;
  const where = scope.camera ? `camera ${scope.camera}: ` : '';
  const cam = scope.camera ? { camera: scope.camera } : {};
  // A camera value equal to the global one is the global setting, already reported once.
  const own = (s: Setting) => !inherited || inherited.get(s.path) !== s.days;
  let slack: Setting | null = null;
  for (const s of scope.settings) {
    if (s.days > retentionDays) {
      if (own(s)) {
        findings.push({
          kind: s.kind,
          detail: `${where}${s.path} = ${fmt(s.days)} days, more than the site's ${fmt(retentionDays)}`,
          ...cam,
        });
      }
    } else if (s.recording && s.days * MIN_PER_DAY + scope.expireInterval > limit) {
      if (!slack || s.days > slack.days) slack = s;
    }
  }
  const inheritedInterval = inherited?.get('record.expire_interval');
  if (slack && (!inherited || inheritedInterval !== scope.expireInterval || own(slack))) {
    findings.push({
      kind: 'config_expire_interval',
      detail:
        `${where}record.expire_interval = ${scope.expireInterval} minutes after ${slack.path} = ${fmt(slack.days)} days ` +
        `keeps footage up to ${fmt(slack.days * MIN_PER_DAY + scope.expireInterval)} minutes, more than the site's ${fmt(limit)}`,
      ...cam,
    });
  }
  return findings;
}

/**
 * Every setting that can keep patron images longer than `retentionDays` (continuous, motion, alerts,
 * detections, snapshots globally, per object and per camera, `expire_interval`), read in the schema of
 * `version` (0.14, 0.15–0.16, 0.17+). Returns one finding per offending setting.
 *
 * Settings are checked whether or not recording or snapshots are enabled: both can be switched on at
 * runtime over MQTT (`<camera>/recordings/set`, `<camera>/snapshots/set`) without a config change.
 */
export function checkFrigateConfig(
  config: unknown,
  version: string,
  retentionDays: number,
): ComplianceFinding[] {
  const schema = frigateSchema(version);
  if (!schema) {
    return [
      {
        kind: 'config_unreadable',
        detail: `Frigate version ${JSON.stringify(version)}: no known config schema`,
      },
    ];
  }
  if (!isObj(config)) return [{ kind: 'config_unreadable', detail: 'GET /api/config: not a JSON object' }];
  if (config.safe_mode === true) {
    return [
      {
        kind: 'recorder_safe_mode',
        detail: 'Frigate runs in safe mode (its config failed validation): no retention cleanup runs',
      },
    ];
  }
  const findings: ComplianceFinding[] = [];
  let global: Scope | null = null;
  let globalUnreadable: string | null = null;
  try {
    global = readScope(schema, config);
    findings.push(...judge(global, retentionDays, null));
  } catch (err) {
    if (!(err instanceof Unreadable)) throw err;
    globalUnreadable = err.message;
    findings.push({ kind: 'config_unreadable', detail: `Frigate ${schema} schema: ${err.message}` });
  }
  const inherited = global ? new Map(global.settings.map((s) => [s.path, s.days])) : null;
  if (inherited && global) inherited.set('record.expire_interval', global.expireInterval);
  if (!isObj(config.cameras)) {
    findings.push({ kind: 'config_unreadable', detail: `Frigate ${schema} schema: cameras: missing` });
    return findings;
  }
  for (const [name, cam] of Object.entries(config.cameras)) {
    try {
      if (!isObj(cam)) throw new Unreadable(`cameras.${name}: not a mapping`);
      findings.push(...judge(readScope(schema, cam, name), retentionDays, inherited));
    } catch (err) {
      if (!(err instanceof Unreadable)) throw err;
      // The same unreadable value inherited from the global section is reported once.
      if (err.message.replace(`cameras.${name}.`, '') === globalUnreadable) continue;
      findings.push({
        kind: 'config_unreadable',
        detail: `Frigate ${schema} schema: ${err.message}`,
        camera: name,
      });
    }
  }
  return findings;
}
