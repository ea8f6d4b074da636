import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { AJV_OPTIONS } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { configValidatorSource } from '../../src/config/validator-source.ts';

// Inside the checkout, so the generated code finds ajv's runtime helpers in node_modules. A fresh clone has
// no test-artifacts folder until some test makes one.
mkdirSync(join(process.cwd(), 'test-artifacts'), { recursive: true });
const dir = mkdtempSync(join(process.cwd(), 'test-artifacts', 'validator-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function builtValidator(): ValidateFunction {
  const file = join(dir, 'config-validator.cjs');
  writeFileSync(file, configValidatorSource());
  return createRequire(import.meta.url)(file) as ValidateFunction;
}

const example = parse(readFileSync('config/dorvakt.example.yaml', 'utf8')) as Record<string, unknown>;
// The demo's template with its placeholders filled in.
const filled: Record<string, string> = {
  STAFFLESS: 'Mo-Su 07:00-22:00',
  READER_PATH: '/dev/pts/9',
  LOG_LEVEL: 'info',
};
const demo = parse(
  readFileSync('config/demo.yaml', 'utf8').replace(
    /@([A-Z0-9_]+)@/g,
    (_, name: string) => filled[name] ?? '1884',
  ),
) as Record<string, unknown>;
const broken: Record<string, unknown>[] = [
  { ...example, surprise: true },
  { ...example, doors: [{ id: 'main', reader: { path: 7 }, schedule: { staffless: 12 } }] },
  { ...example, site: { timezone: 'Europe/Oslo' } },
  { doors: 'none' },
  {},
];

describe('the config validator built as code (npm run build)', () => {
  it('answers as the schema compiled at start: verdict, errors and filled-in defaults', () => {
    const built = builtValidator();
    const compiled = new Ajv(AJV_OPTIONS).compile(configSchema);
    for (const [i, input] of [example, demo, ...broken].entries()) {
      const a = structuredClone(input);
      const b = structuredClone(input);
      const verdict = compiled(a);
      expect(built(b), `case ${i}`).toBe(verdict);
      expect(built.errors ?? null, `case ${i}`).toEqual(compiled.errors ?? null);
      expect(b, `case ${i}`).toEqual(a);
    }
    // Not two validators that accept everything: the examples pass, the broken ones do not.
    expect(compiled(structuredClone(example))).toBe(true);
    expect(broken.every((c) => !compiled(structuredClone(c)))).toBe(true);
  });
});
