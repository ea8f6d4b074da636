/**
 * fast-check arbitraries built from the JSON schemas the MQTT parsers validate against, so that most
 * generated payloads pass validation and the values inside are the hostile ones: edge times, odd names
 * that still match their pattern, empty and full arrays. A share is broken on purpose (`breakOne`), so
 * the reject path keeps running too.
 */
import fc from 'fast-check';

// biome-ignore lint/suspicious/noExplicitAny: a JSON schema is untyped data here
type Schema = Record<string, any>;

const ISO_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';
const DAY_MS = 86_400_000;

/** Times the pattern allows: mostly near `now` (so the rules about age decide), some extreme or impossible. */
export function isoTimeArbitrary(now: number): fc.Arbitrary<string> {
  const near = fc
    .record({
      offset: fc.integer({ min: -40 * DAY_MS, max: 2 * DAY_MS }),
      fraction: fc.constantFrom('', '.5', '.123456789'),
      zone: fc.constantFrom('Z', 'Z', '+01:00', '-12:00', '+14:00'),
    })
    .map(({ offset, fraction, zone }) => {
      const t = new Date(now + offset);
      const shift = zone === 'Z' ? 0 : (zone[0] === '+' ? 1 : -1) * Number(zone.slice(1, 3)) * 3_600_000;
      return new Date(t.getTime() + shift).toISOString().slice(0, 19) + fraction + zone;
    });
  const extreme = fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '1970-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-11-30T25:61:61Z',
    '2026-11-30T10:00:00+99:99',
  );
  return fc.oneof({ weight: 19, arbitrary: near }, { weight: 1, arbitrary: extreme });
}

const HOSTILE_STRINGS = [
  '',
  '../../etc/passwd',
  '\u0000',
  '\ud800',
  'x'.repeat(999),
  '<script>',
  '%00',
  '\u0024{x}',
];

export interface SchemaOptions {
  now: number;
  /** Largest array generated (schemas allow up to 1000 holds; a few are enough to vary). */
  maxItems?: number;
}

/** An arbitrary of values valid under `schema` (the subset of JSON Schema the NVR contract uses). */
export function fromSchema(schema: Schema, options: SchemaOptions): fc.Arbitrary<unknown> {
  const maxItems = options.maxItems ?? 4;
  const recur = (s: Schema) => fromSchema(s, options);
  if (schema.anyOf || schema.oneOf) return fc.oneof(...(schema.anyOf ?? schema.oneOf).map(recur));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.oneof(
        fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 }),
        fc.constantFrom(schema.minimum ?? 0, Number.MAX_SAFE_INTEGER),
      );
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: schema.minimum, max: schema.maximum });
    case 'string': {
      if (schema.pattern === ISO_PATTERN) return isoTimeArbitrary(options.now);
      const max = schema.maxLength ?? 1000;
      if (schema.pattern) {
        const re = new RegExp(schema.pattern);
        return fc.stringMatching(re).filter((s) => s.length <= max);
      }
      return fc
        .oneof(fc.string({ maxLength: Math.min(max, 40) }), fc.constantFrom(...HOSTILE_STRINGS))
        .filter((s) => s.length <= max);
    }
    case 'array': {
      const items = recur(schema.items ?? {});
      const size = { maxLength: Math.min(schema.maxItems ?? maxItems, maxItems) };
      return schema.uniqueItems
        ? fc.uniqueArray(items, { ...size, selector: (v) => JSON.stringify(v) })
        : fc.array(items, size);
    }
    case 'object': {
      const properties: Record<string, Schema> = schema.properties ?? {};
      if (Object.keys(properties).length === 0 && typeof schema.additionalProperties === 'object') {
        const key = schema.propertyNames?.pattern
          ? fc.stringMatching(new RegExp(schema.propertyNames.pattern))
          : fc.string();
        return fc.dictionary(key, recur(schema.additionalProperties), {
          maxKeys: Math.min(schema.maxProperties ?? maxItems, maxItems),
          noNullPrototype: true,
        });
      }
      const arbs = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, recur(s)]));
      return fc.record(arbs, { requiredKeys: schema.required ?? [] });
    }
    default:
      return fc.anything();
  }
}

/**
 * One change that the schema refuses: a required key dropped, an unknown key added, or a value of the
 * wrong type; so a share of the stream still tests the reject path with near-valid payloads.
 */
export function breakOne(value: unknown, pick: number): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 42;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const key = keys[pick % Math.max(1, keys.length)];
  switch (pick % 3) {
    case 0:
      if (key) delete copy[key];
      return copy;
    case 1:
      copy.__proto__polluted = 1;
      return copy;
    default:
      if (key) copy[key] = { nested: [copy[key]] };
      return copy;
  }
}
