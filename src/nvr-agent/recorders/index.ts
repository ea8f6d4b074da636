/**
 * The recorder registry: `recorder.kind` in the agent's config → config fragment + factory. A new recorder is
 * one new file in this folder plus one line in RECORDERS (and its options type in RecorderOptions).
 */
import { resolve } from 'node:path';
import type { Logger } from '../../log/logger.ts';
import type { Recorder, RecorderDeps } from '../recorder.ts';
import { createFilesRecorder, type FilesRecorderOptions, filesRecorderSchema } from './files.ts';
import { createFrigateRecorder, type FrigateRecorderOptions, frigateRecorderSchema } from './frigate.ts';

/** The `recorder:` section of the agent config, one member per kind. */
export type RecorderOptions = FilesRecorderOptions | FrigateRecorderOptions;

export type RecorderKind = RecorderOptions['kind'];

interface RegistryEntry<O> {
  /** JSON schema of the `recorder:` section for this kind; `kind: {const: <kind>}` is required in it. */
  schema: object;
  create(options: O, log: Logger, deps: RecorderDeps): Recorder;
  /** Resolves path-valued options against the config file's directory, in place. */
  resolvePaths?(options: O, baseDir: string): void;
  /** Local folders the recorder owns (exports and state must stay outside them). */
  paths?(options: O): string[];
}

type Registry = { [K in RecorderKind]: RegistryEntry<Extract<RecorderOptions, { kind: K }>> };

export const RECORDERS: Registry = {
  files: {
    schema: filesRecorderSchema,
    create: createFilesRecorder,
    resolvePaths: (o, baseDir) => {
      o.root = resolve(baseDir, o.root);
    },
    paths: (o) => [o.root],
  },
  frigate: {
    schema: frigateRecorderSchema,
    create: (options, log, deps) => createFrigateRecorder(options, log, { now: deps.now }),
    resolvePaths: (o, baseDir) => {
      if (o.password_file) o.password_file = resolve(baseDir, o.password_file);
      if (o.ca_file) o.ca_file = resolve(baseDir, o.ca_file);
    },
  },
};

/** Schema of the `recorder:` section: exactly one kind, chosen by `kind`. */
export const recorderSchema = {
  type: 'object',
  required: ['kind'],
  discriminator: { propertyName: 'kind' },
  oneOf: Object.values(RECORDERS).map((r) => r.schema),
};

export function createRecorder(options: RecorderOptions, log: Logger, deps: RecorderDeps): Recorder {
  const entry = RECORDERS[options.kind] as RegistryEntry<RecorderOptions> | undefined;
  if (!entry) throw new Error(`unknown recorder kind ${String(options.kind)}`);
  return entry.create(options, log, deps);
}

/** Paths the recorder owns on this host (for the config's containment checks). */
export function recorderPaths(options: RecorderOptions): string[] {
  const entry = RECORDERS[options.kind] as RegistryEntry<RecorderOptions>;
  return entry.paths?.(options) ?? [];
}

export function resolveRecorderPaths(options: RecorderOptions, baseDir: string): void {
  const entry = RECORDERS[options.kind] as RegistryEntry<RecorderOptions>;
  entry.resolvePaths?.(options, baseDir);
}
