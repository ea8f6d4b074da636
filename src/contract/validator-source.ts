/**
 * The MQTT contract validators as code (ajv standalone), written by `npm run build` to
 * dist/contract/mqtt-validators.cjs so the door process never compiles them while it starts (see mqtt-check.ts).
 * Run: node dist/contract/validator-source.js OUT_FILE
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { MQTT_AJV_OPTIONS, MQTT_SCHEMAS } from './mqtt-check.ts';

export function mqttValidatorsSource(): string {
  const standaloneCode = createRequire(import.meta.url)('ajv/dist/standalone').default as (
    ajv: Ajv,
    refs: Record<string, string>,
  ) => string;
  const ajv = new Ajv({ ...MQTT_AJV_OPTIONS, code: { source: true } });
  const refs: Record<string, string> = {};
  for (const [name, schema] of Object.entries(MQTT_SCHEMAS)) {
    ajv.addSchema(schema, `dorvakt-mqtt-${name}`);
    refs[name] = `dorvakt-mqtt-${name}`;
  }
  return standaloneCode(ajv, refs);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: validator-source.js OUT_FILE');
  writeFileSync(out, mqttValidatorsSource());
}
