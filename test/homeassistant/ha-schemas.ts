/** Home Assistant's documented schemas (docs/homeassistant-schemas/) applied to a discovery payload. */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

const schema = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../docs/homeassistant-schemas/${name}.schema.json`, import.meta.url), 'utf8'),
  );
const ajv = new Ajv({ allErrors: true, strict: false });
const device = ajv.compile(schema('device-discovery'));
const platforms: Record<string, ReturnType<typeof ajv.compile>> = {
  lock: ajv.compile(schema('lock')),
  binary_sensor: ajv.compile(schema('binary_sensor')),
  sensor: ajv.compile(schema('sensor')),
  event: ajv.compile(schema('event')),
};

/** Every component valid for its platform; the errors say which and why. */
export function invalidComponents(payload: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!device(payload)) problems.push(`device: ${ajv.errorsText(device.errors)}`);
  const components = (payload.components ?? {}) as Record<string, { platform: string }>;
  for (const [id, component] of Object.entries(components)) {
    const validate = platforms[component.platform];
    if (!validate) problems.push(`${id}: no schema for platform ${component.platform}`);
    else if (!validate(component)) problems.push(`${id}: ${ajv.errorsText(validate.errors)}`);
  }
  return problems;
}
