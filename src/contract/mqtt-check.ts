import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  type DoorStatePayload,
  doorStateSchema,
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

const ajv = new Ajv({ allErrors: false, strict: false, discriminator: true });
const validators = {
  event: ajv.compile<WireEvent>(eventSchema),
  doorState: ajv.compile<DoorStatePayload>(doorStateSchema),
  info: ajv.compile<InfoPayload>(infoSchema),
};
export type PayloadKind = keyof typeof validators;

/** MQTT payloads above this are refused unread (a v2 payload is well under 2 KiB). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

function check<T>(validate: ValidateFunction<T>, value: unknown): Checked<T> {
  if (validate(value)) return { ok: true, value };
  return { ok: false, errors: describe(validate.errors) };
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`).join('; ');
}

export const checkEvent = (value: unknown): Checked<WireEvent> => check(validators.event, value);
export const checkDoorState = (value: unknown): Checked<DoorStatePayload> =>
  check(validators.doorState, value);
export const checkInfo = (value: unknown): Checked<InfoPayload> => check(validators.info, value);

export function checkPayload(kind: PayloadKind, value: unknown): Checked<unknown> {
  return check(validators[kind] as ValidateFunction<unknown>, value);
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
