/**
 * The config validator as code (ajv standalone), written by `npm run build` to dist/config/config-validator.cjs
 * so the service loads it instead of compiling the schema at every start (see configValidator in load.ts).
 * Run: node dist/config/validator-source.js OUT_FILE
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { AJV_OPTIONS } from './load.ts';
import { configSchema } from './schema.ts';

export function configValidatorSource(): string {
  const standaloneCode = createRequire(import.meta.url)('ajv/dist/standalone').default as (
    ajv: Ajv,
    validate: unknown,
  ) => string;
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  return standaloneCode(ajv, ajv.compile(configSchema));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: validator-source.js OUT_FILE');
  writeFileSync(out, configValidatorSource());
}
