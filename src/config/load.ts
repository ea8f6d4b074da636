import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { resolveIlsPaths } from '../ils/config.ts';
import { CARD_FORMATS, formatAppliesTo, formatsFor } from '../reader/card-format.ts';
import { checkNvrConfig } from '../nvr/config.ts';
import { checkFrigateRecordingConfig } from '../nvr/frigate-recording.ts';
import { checkStatesConfig } from '../states/config.ts';
import { checkOccupancyConfig } from '../occupancy/config.ts';
import { checkWebConfig, TRUST_PROXY_TRUE_REFUSED } from '../web/config.ts';
import { type AppliedMigration, migrateDocument } from './migrate.ts';
import { locate } from './yaml-position.ts';
import { CONFIG_VERSION, configMigrations } from './migrations.ts';
import { configSchema } from './schema.ts';
import type { DorvaktConfig, SecretRef } from './types.ts';
import { ConfigError, type ConfigProblem } from './errors.ts';
export { readSecret } from './secrets.ts';

export { ConfigError, type ConfigProblem } from './errors.ts';

/** The validator's options; config/validator-source.ts writes the same validator out as code. */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false } as const;

const require = createRequire(import.meta.url);
// Written by `npm run build` next to the built module; a checkout (tsx, tests) compiles the schema instead.
const PRECOMPILED = fileURLToPath(new URL('./config-validator.cjs', import.meta.url));

// The compiled validator is large and the service needs it once, at start: hold it weakly so the memory goes
// back once the config is loaded.
let validatorRef: WeakRef<ValidateFunction> | undefined;
function configValidator(): ValidateFunction {
  const cached = validatorRef?.deref();
  if (cached) return cached;
  const validate = precompiledValidator() ?? compiledValidator();
  validatorRef = new WeakRef(validate);
  return validate;
}

/** The validator built as code: loading it skips ajv itself and compiling the schema, most of a start's config load. */
function precompiledValidator(): ValidateFunction | undefined {
  if (!existsSync(PRECOMPILED)) return undefined;
  const validate = require(PRECOMPILED) as ValidateFunction;
  delete require.cache[PRECOMPILED];
  return validate;
}

function compiledValidator(): ValidateFunction {
  const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
  return new Ajv(AJV_OPTIONS).compile(configSchema);
}

function describe(error: ErrorObject): { path: string[]; message: string } {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    return { path: [...path, extra], message: `unknown key "${extra}"` };
  }
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty: string }).missingProperty);
    return { path, message: `missing required key "${missing}"` };
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map((v) =>
      JSON.stringify(v),
    );
    return { path, message: `must be one of ${allowed.join(', ')}` };
  }
  return { path, message: error.message ?? error.keyword };
}

export interface ParseOptions {
  /**
   * More rules to check, with lines filled in like the built-in ones. check.ts adds the schedule and secret
   * file rules, which need the calendar libraries and the disk; the service leaves them to its start.
   * Relative paths in the config are relative to baseDir.
   */
  extraChecks?: (config: DorvaktConfig, baseDir: string) => ConfigProblem[];
  /** Relative paths are relative to this (loadConfig: the config file's folder). */
  baseDir?: string;
  /** Told once per migration step that applied (the file is older than this release's config version). */
  onMigrated?: (applied: AppliedMigration) => void;
}

/** What reading a config found: the config (when valid), every problem, and the migrations applied. */
export interface ConfigInspection {
  config: DorvaktConfig | null;
  problems: ConfigProblem[];
  /** The version the file says (1 without `version`). */
  fromVersion: number;
  migrations: AppliedMigration[];
  /** The migrated document, for `check-config --migrate`. */
  doc: Document;
}

/**
 * Reads YAML text: migrates it in memory to the current version, then validates it. Every problem is
 * collected in one pass (schema, rules, extra checks), each with its key and line.
 */
export function inspectConfig(text: string, options: ParseOptions = {}): ConfigInspection {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? null : lineCounter.linePos(offset).line;
  const result: ConfigInspection = { config: null, problems: [], fromVersion: 1, migrations: [], doc };
  if (doc.errors.length > 0) {
    result.problems = doc.errors.map((e) => ({
      key: '',
      line: lineOf(e.pos[0]),
      message: `YAML: ${e.message.split('\n')[0]}`,
    }));
    return result;
  }
  const migration = migrateDocument(doc, configMigrations, CONFIG_VERSION);
  result.fromVersion = migration.from;
  result.migrations = migration.applied;
  for (const applied of migration.applied) options.onMigrated?.(applied);
  result.problems.push(
    ...migration.problems.map((p) => ({ key: p.key, line: lineOf(p.offset), message: p.message })),
  );
  if (migration.problems.some((p) => p.key === 'version')) return result;
  const data: unknown = doc.toJS();
  const validate = configValidator();
  const schemaProblems: ConfigProblem[] = [];
  if (!validate(data)) {
    const seen = new Set<string>();
    for (const error of validate.errors ?? []) {
      // if/then and oneOf wrappers repeat the real error; keep the specific ones.
      if (error.keyword === 'if' || error.keyword === 'oneOf' || error.keyword === 'allOf') continue;
      const { path, message } = describe(error);
      const key = path.join('.');
      if (seen.has(`${key}|${message}`)) continue;
      seen.add(`${key}|${message}`);
      schemaProblems.push({ key, line: lineOf(locate(doc, path)), message });
    }
  }
  const config = data as DorvaktConfig;
  const baseDir = options.baseDir ?? process.cwd();
  // The rules still run on a config the schema refused, each part guarded, so one pass names every
  // mistake; a rule's finding under a key the schema already refused would only repeat it.
  const shapeOk = schemaProblems.length === 0;
  const ruleProblems = [
    ...guarded(() => checkSemantics(config, shapeOk), shapeOk),
    ...guarded(() => options.extraChecks?.(config, baseDir) ?? [], shapeOk),
  ].filter((p) => !schemaProblems.some((s) => s.key !== '' && overlaps(s.key, p.key)));
  result.problems.push(
    ...schemaProblems,
    ...ruleProblems.map((p) => ({ ...p, line: p.line ?? lineOf(locate(doc, p.key.split('.'))) })),
  );
  if (result.problems.every((p) => p.warning)) {
    config.version = CONFIG_VERSION;
    result.config = config;
  }
  return result;
}

/** A key at or under the other (dotted paths). */
function overlaps(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return long === short || long.startsWith(`${short}.`);
}

/**
 * Problems of a rule that may meet a config of the wrong shape: a crash there is the schema's to report.
 * On a config the schema accepted (shapeOk), a crash is a bug and is thrown.
 */
function guarded(check: () => ConfigProblem[], shapeOk: boolean): ConfigProblem[] {
  try {
    return check();
  } catch (error) {
    if (shapeOk) throw error;
    return [];
  }
}

/** Parses and validates YAML text; throws ConfigError naming the key and line of every problem. */
export function parseConfig(text: string, file = '<config>', options: ParseOptions = {}): DorvaktConfig {
  const { config, problems } = inspectConfig(text, options);
  if (!config) throw new ConfigError(file, problems);
  return config;
}

/** Rules JSON schema cannot say. Lines are filled in by the caller. */
function checkSemantics(config: DorvaktConfig, shapeOk: boolean): ConfigProblem[] {
  return [
    ...guarded(() => checkDoors(config), shapeOk),
    ...guarded(() => checkSections(config), shapeOk),
    ...guarded(() => checkFrigateSection(config), shapeOk),
    ...guarded(() => checkStatesSection(config), shapeOk),
    ...guarded(() => checkOccupancySection(config), shapeOk),
  ];
}

function checkDoors(config: DorvaktConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const ids = new Set<string>();
  config.doors.forEach((door, i) => {
    if (ids.has(door.id))
      problems.push({ key: `doors.${i}.id`, line: null, message: `duplicate door id "${door.id}"` });
    ids.add(door.id);
    if (door.require_pin && config.patrons.source === 'local') {
      problems.push({
        key: `doors.${i}.require_pin`,
        line: null,
        message: 'the local registry cannot verify PINs (PINs are never stored); use patrons.source: sip2',
      });
    }
    const osdpPin = door.reader.profile === 'osdp' && door.reader.osdp?.keypad_pin === true;
    if (door.require_pin && door.reader.profile !== 'keypad' && !osdpPin) {
      problems.push({
        key: `doors.${i}.require_pin`,
        line: null,
        message: 'require_pin needs reader.profile: keypad (or osdp with osdp.keypad_pin: true)',
      });
    }
    if ((door.reader.profile === 'keypad' || osdpPin) && config.patrons.source === 'local') {
      problems.push({
        key: `doors.${i}.reader.profile`,
        line: null,
        message: 'a keypad sends PINs, which the local registry cannot verify; use patrons.source: sip2',
      });
    }
    problems.push(...checkOsdpReader(config, i));
    problems.push(...checkCardFormat(config, i));
    try {
      new RegExp(door.reader.card_pattern);
    } catch {
      problems.push({
        key: `doors.${i}.reader.card_pattern`,
        line: null,
        message: 'not a valid regular expression',
      });
    }
  });
  return problems;
}

/** A card format reads either a chip ID or printed text: it must fit what the reader's profile delivers. */
function checkCardFormat(config: DorvaktConfig, i: number): ConfigProblem[] {
  const reader = config.doors[i]!.reader;
  const format = reader.card_format ?? 'as-read';
  const profile = reader.profile ?? 'line';
  if (!CARD_FORMATS.includes(format) || formatAppliesTo(format, profile)) return [];
  return [
    {
      key: `doors.${i}.reader.card_format`,
      line: null,
      message: `card_format ${format} cannot apply to a ${profile} reader; use one of: ${formatsFor(profile).join(', ')}`,
    },
  ];
}

/** Readers sharing one OSDP bus (serial path) need one baud rate and their own addresses. */
function checkOsdpReader(config: DorvaktConfig, i: number): ConfigProblem[] {
  const reader = config.doors[i]!.reader;
  const problems: ConfigProblem[] = [];
  const at = `doors.${i}.reader`;
  config.doors.slice(0, i).forEach((other, j) => {
    if (other.reader.path !== reader.path) return;
    if (reader.profile === 'wiegand' && other.reader.profile === 'wiegand') {
      // Wiegand readers share a GPIO chip, each on its own lines.
      const mine = [reader.wiegand?.d0, reader.wiegand?.d1];
      if (
        [other.reader.wiegand?.d0, other.reader.wiegand?.d1].some((l) => l !== undefined && mine.includes(l))
      )
        problems.push({ key: `${at}.wiegand`, line: null, message: `doors.${j} uses the same GPIO line` });
      return;
    }
    if (reader.profile !== 'osdp' || other.reader.profile !== 'osdp') {
      problems.push({
        key: `${at}.path`,
        line: null,
        message: `doors.${j} uses the same reader path; only OSDP readers can share a bus`,
        // A warning: configs that gave two doors one serial reader loaded before OSDP existed.
        warning: true,
      });
    } else if (other.reader.baud_rate !== reader.baud_rate) {
      problems.push({
        key: `${at}.baud_rate`,
        line: null,
        message: `doors.${j} is on the same OSDP bus at another baud rate`,
      });
    } else if (other.reader.osdp?.address === reader.osdp?.address) {
      problems.push({
        key: `${at}.osdp.address`,
        line: null,
        message: `doors.${j} has the same address on this OSDP bus`,
      });
    }
  });
  if (reader.profile !== 'osdp' || !reader.osdp) return problems;
  if (reader.osdp.security === 'install')
    problems.push({
      key: `${at}.osdp.security`,
      line: null,
      message:
        'install mode uses the default key everyone knows: commission the reader (dorvakt osdp keyset) and set security: key',
      warning: true,
    });
  if (reader.osdp.security === 'plaintext')
    problems.push({
      key: `${at}.osdp.security`,
      line: null,
      message: 'no secure channel: card numbers cross the wire in clear and can be sniffed or replayed',
      warning: true,
    });
  return problems;
}

function checkSections(config: DorvaktConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const p of checkNvrConfig(config.nvr, config.mqtt.base_topic ?? `dorvakt/${config.site.id}`)) {
    problems.push({ key: `nvr.${p.key}`, line: null, message: p.message });
  }
  for (const p of checkWebConfig(config.web)) {
    problems.push({ key: `web.${p.key}`, line: null, message: p.message });
  }
  // Version 1 files have had `true` migrated (migrations.ts); in a newer file it is a mistake.
  if (config.web.trust_proxy === true) {
    problems.push({ key: 'web.trust_proxy', line: null, message: TRUST_PROXY_TRUE_REFUSED });
  }
  return problems;
}

function checkFrigateSection(config: DorvaktConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const p of checkFrigateRecordingConfig(
    config.nvr.frigate_recording,
    config.doors.map((d) => d.id),
  )) {
    problems.push({ key: `nvr.frigate_recording.${p.key}`, line: null, message: p.message });
  }
  return problems;
}

function checkStatesSection(config: DorvaktConfig): ConfigProblem[] {
  if (!config.states) return [];
  return checkStatesConfig(
    config.states,
    config.doors.map((d) => d.id),
  ).map((p) => ({ key: `states.${p.key}`, line: null, message: p.message }));
}

function checkOccupancySection(config: DorvaktConfig): ConfigProblem[] {
  if (!config.occupancy) return [];
  return checkOccupancyConfig(
    config.occupancy,
    config.doors.map((d) => d.id),
    (config.states?.outputs ?? []).map((o) => o.id),
  ).map((p) => ({ key: `occupancy.${p.key}`, line: null, message: p.message }));
}

export function loadConfig(file: string, options: ParseOptions = {}): DorvaktConfig {
  return loadConfigText(readFileSync(file, 'utf8'), file, options);
}

/** The same, for a file's text already read. */
export function loadConfigText(text: string, file: string, options: ParseOptions = {}): DorvaktConfig {
  const base = dirname(resolve(file));
  const config = parseConfig(text, file, { baseDir: base, ...options });
  resolveConfigPaths(config, base);
  return config;
}

/** Relative paths in the config are relative to the config file's folder (base). */
export function resolveConfigPaths(config: DorvaktConfig, base: string): void {
  config.store.path = config.store.path === ':memory:' ? config.store.path : resolve(base, config.store.path);
  for (const { ref } of secretRefs(config)) {
    if ('file' in ref) ref.file = resolve(base, ref.file);
  }
  const tls = config.mqtt.tls;
  if (tls) {
    for (const name of ['ca_file', 'cert_file', 'key_file'] as const) {
      const file = tls[name];
      if (file) tls[name] = resolve(base, file);
    }
  }
  resolveIlsPaths(config.ils, base);
  if (config.fleet?.rules_public_key_file)
    config.fleet.rules_public_key_file = resolve(base, config.fleet.rules_public_key_file);
  const announcements = config.states?.announcements;
  if (announcements?.dir) announcements.dir = resolve(base, announcements.dir);
}

/** Every secret the config refers to, with its key path. */
export function secretRefs(config: DorvaktConfig): { key: string; ref: SecretRef }[] {
  const refs: { key: string; ref: SecretRef | undefined }[] = [
    { key: 'secrets.card_hmac_key', ref: config.secrets?.card_hmac_key },
    { key: 'mqtt.password', ref: config.mqtt?.password },
    { key: 'fleet.key', ref: config.fleet?.key },
    ...(config.nvr?.auth?.keys ?? []).map((k, i) => ({ key: `nvr.auth.keys.${i}.secret`, ref: k.secret })),
    { key: 'ils.password', ref: config.ils?.password },
    { key: 'ils.terminal_password', ref: config.ils?.terminal_password },
    { key: 'occupancy.closing_sweep.webhook.token', ref: config.occupancy?.closing_sweep?.webhook?.token },
    ...(config.doors ?? []).map((d, i) => ({
      key: `doors.${i}.reader.osdp.scbk`,
      ref: d.reader?.osdp?.scbk,
    })),
  ];
  return refs.filter(
    (r): r is { key: string; ref: SecretRef } => typeof r.ref === 'object' && r.ref !== null,
  );
}
