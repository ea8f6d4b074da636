import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { resolveIlsPaths } from '../ils/config.ts';
import { checkNvrConfig } from '../nvr/config.ts';
import { checkFrigateRecordingConfig } from '../nvr/frigate-recording.ts';
import { checkWebConfig } from '../web/config.ts';
import { configSchema } from './schema.ts';
import type { DorvaktConfig, SecretRef } from './types.ts';

export interface ConfigProblem {
  /** Dotted key path, e.g. `doors.0.reader.profile`. */
  key: string;
  line: number | null;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${file}: ${problems.map((p) => `${p.line ? `line ${p.line}: ` : ''}${p.key || '(top)'}: ${p.message}`).join('; ')}`,
    );
    this.name = 'ConfigError';
  }
}

/** The validator's options; config/validator-source.ts writes the same validator out as code. */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false } as const;

const require = createRequire(import.meta.url);
// Written by `npm run build` next to the built module; a checkout (tsx, tests) compiles the schema instead.
const PRECOMPILED = fileURLToPath(new URL('./config-validator.cjs', import.meta.url));

// The compiled validator is large (its generated source alone is ≈ 170 kB) and the service needs it once, at start:
// hold it weakly so the memory goes back once the config is loaded.
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

/** Parses and validates YAML text; throws ConfigError naming the key and line of every problem. */
export interface ParseOptions {
  /**
   * More rules to check, with lines filled in like the built-in ones. check.ts adds the schedule rules,
   * which need the calendar libraries; the service leaves them to its schedule compiler.
   */
  extraChecks?: (config: DorvaktConfig) => ConfigProblem[];
}

export function parseConfig(text: string, file = '<config>', options: ParseOptions = {}): DorvaktConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? null : lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        key: '',
        line: lineOf(e.pos[0]),
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const data: unknown = doc.toJS();
  const validate = configValidator();
  if (!validate(data)) {
    const seen = new Set<string>();
    const problems: ConfigProblem[] = [];
    for (const error of validate.errors ?? []) {
      // if/then and oneOf wrappers repeat the real error; keep the specific ones.
      if (error.keyword === 'if' || error.keyword === 'oneOf' || error.keyword === 'allOf') continue;
      const { path, message } = describe(error);
      const key = path.join('.');
      if (seen.has(`${key}|${message}`)) continue;
      seen.add(`${key}|${message}`);
      problems.push({ key, line: lineOf(locate(doc, path)), message });
    }
    throw new ConfigError(file, problems);
  }
  const config = data as unknown as DorvaktConfig;
  const semantic = [...checkSemantics(config), ...(options.extraChecks?.(config) ?? [])];
  if (semantic.length > 0) {
    throw new ConfigError(
      file,
      semantic.map((p) => ({ ...p, line: lineOf(locate(doc, p.key.split('.'))) })),
    );
  }
  return config;
}

/** Offset of the deepest YAML node that exists along path (a missing key points at its parent). */
function locate(doc: ReturnType<typeof parseDocument>, path: string[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as { range?: [number] } | null)?.range?.[0];
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      offset = (pair.key as { range?: [number] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(part)] as { range?: [number] } | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

/** Rules JSON schema cannot say. Lines are filled in by the caller. */
function checkSemantics(config: DorvaktConfig): ConfigProblem[] {
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
    if (door.require_pin && door.reader.profile !== 'keypad') {
      problems.push({
        key: `doors.${i}.require_pin`,
        line: null,
        message: 'require_pin needs reader.profile: keypad',
      });
    }
    if (door.reader.profile === 'keypad' && config.patrons.source === 'local') {
      problems.push({
        key: `doors.${i}.reader.profile`,
        line: null,
        message: 'a keypad sends PINs, which the local registry cannot verify; use patrons.source: sip2',
      });
    }
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
  for (const p of checkNvrConfig(config.nvr, config.mqtt.base_topic ?? `dorvakt/${config.site.id}`)) {
    problems.push({ key: `nvr.${p.key}`, line: null, message: p.message });
  }
  for (const p of checkFrigateRecordingConfig(
    config.nvr.frigate_recording,
    config.doors.map((d) => d.id),
  )) {
    problems.push({ key: `nvr.frigate_recording.${p.key}`, line: null, message: p.message });
  }
  for (const p of checkWebConfig(config.web)) {
    problems.push({ key: `web.${p.key}`, line: null, message: p.message });
  }
  return problems;
}

export function loadConfig(file: string, options: ParseOptions = {}): DorvaktConfig {
  const config = parseConfig(readFileSync(file, 'utf8'), file, options);
  // Relative paths in the config are relative to the config file.
  const base = dirname(resolve(file));
  config.store.path = config.store.path === ':memory:' ? config.store.path : resolve(base, config.store.path);
  const nvrKeys = config.nvr.auth?.keys.map((k) => k.secret) ?? [];
  for (const ref of [config.secrets.card_hmac_key, config.mqtt.password, ...nvrKeys]) {
    if (ref && 'file' in ref) ref.file = resolve(base, ref.file);
  }
  const tls = config.mqtt.tls;
  if (tls) {
    for (const name of ['ca_file', 'cert_file', 'key_file'] as const) {
      const file = tls[name];
      if (file) tls[name] = resolve(base, file);
    }
  }
  resolveIlsPaths(config.ils, base);
  return config;
}

/** Reads a secret. The value is never logged; errors name the source, not the content. */
export function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) throw new Error(`secret: environment variable ${ref.env} is not set`);
    return value;
  }
  let value: string;
  try {
    value = readFileSync(ref.file, 'utf8').trim();
  } catch (error) {
    throw new Error(`secret: cannot read ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!value) throw new Error(`secret: ${ref.file} is empty`);
  return value;
}
