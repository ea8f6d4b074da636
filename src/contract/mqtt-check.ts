import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import {
  type DoorStatePayload,
  type DoorTodayPayload,
  doorStateSchema,
  doorTodaySchema,
  eventSchema,
  type InfoPayload,
  infoSchema,
  type WireEvent,
} from './mqtt.ts';

/**
 * Validators of the v2 payloads, for the publisher (which refuses what fails) and for any consumer in
 * JavaScript. `check*` takes a parsed value, `parse*` the raw MQTT payload.
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; errors: string };

/** The validator's options; contract/validator-source.ts writes the same validators out as code. */
export const MQTT_AJV_OPTIONS = { allErrors: false, strict: false, discriminator: true } as const;
export const MQTT_SCHEMAS = {
  event: eventSchema,
  doorState: doorStateSchema,
  info: infoSchema,
  doorToday: doorTodaySchema,
} as const;

interface Validators {
  event: ValidateFunction<WireEvent>;
  doorState: ValidateFunction<DoorStatePayload>;
  info: ValidateFunction<InfoPayload>;
  doorToday: ValidateFunction<DoorTodayPayload>;
}
export type PayloadKind = keyof Validators;

const require = createRequire(import.meta.url);
// Written by `npm run build` next to the built module: the door process then loads neither ajv nor compiles
// the schemas while it starts. A checkout (tsx, tests) compiles them on first use.
const PRECOMPILED = fileURLToPath(new URL('./mqtt-validators.cjs', import.meta.url));
let loaded: Validators | undefined;

function validators(): Validators {
  if (loaded) return loaded;
  if (existsSync(PRECOMPILED)) loaded = require(PRECOMPILED) as Validators;
  else {
    const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
    const ajv = new Ajv(MQTT_AJV_OPTIONS);
    loaded = {
      event: ajv.compile<WireEvent>(eventSchema),
      doorState: ajv.compile<DoorStatePayload>(doorStateSchema),
      info: ajv.compile<InfoPayload>(infoSchema),
      doorToday: ajv.compile<DoorTodayPayload>(doorTodaySchema),
    };
  }
  return loaded;
}

/** MQTT payloads above this are refused unread (a v2 payload is well under 2 KiB). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

function check<T>(validate: ValidateFunction<T>, value: unknown): Checked<T> {
  if (validate(value)) return { ok: true, value };
  return { ok: false, errors: describe(validate.errors) };
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`).join('; ');
}

export const checkEvent = (value: unknown): Checked<WireEvent> => check(validators().event, value);
export const checkDoorState = (value: unknown): Checked<DoorStatePayload> =>
  check(validators().doorState, value);
export const checkInfo = (value: unknown): Checked<InfoPayload> => check(validators().info, value);

export function checkPayload(kind: PayloadKind, value: unknown): Checked<unknown> {
  return check(validators()[kind] as ValidateFunction<unknown>, value);
}

function parse<T>(checker: (value: unknown) => Checked<T>, payload: Buffer | string): Checked<T> {
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) return { ok: false, errors: 'payload too large' };
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch {
    return { ok: false, errors: 'not JSON' };
  }
  return checker(value);
}

export const parseEvent = (payload: Buffer | string): Checked<WireEvent> => parse(checkEvent, payload);
export const parseDoorState = (payload: Buffer | string): Checked<DoorStatePayload> =>
  parse(checkDoorState, payload);
export const parseInfo = (payload: Buffer | string): Checked<InfoPayload> => parse(checkInfo, payload);
