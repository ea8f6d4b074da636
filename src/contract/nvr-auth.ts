/**
 * Authentication of every NVR message (requests, answers, the agent's retained status), shared by the
 * controller and the recorder agent. A message travels as an envelope
 *
 *   {"v":1,"kid":"k1","ts":"2026-11-30T01:00:00.000Z","nonce":"<32 hex>","body":{…},"mac":"<64 hex>"}
 *
 * where `mac` is HMAC-SHA256, with the key named by `kid`, over the canonical JSON (keys sorted, no
 * whitespace) of `{v, kid, ts, nonce, topic, body}`. The topic is MACed but not sent, so an answer
 * republished on another topic (as a request, or as the status) fails. docs/mqtt.md is the contract.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_NVR_PAYLOAD_BYTES } from './nvr.ts';

export interface NvrKey {
  /** Key id, sent in the clear so the receiver knows which key to try. */
  id: string;
  secret: string;
}

/** Why a message was dropped. */
export const NVR_OPEN_FAILURES = [
  'unsigned',
  'bad_mac',
  'unknown_key',
  'stale',
  'replay',
  'duplicate',
  'malformed',
] as const;
export type NvrOpenFailure = (typeof NVR_OPEN_FAILURES)[number];
/** Envelope failures plus `bad_time`: a signed request whose own `ts` is far from the receiver's clock. */
export type NvrRejectReason = NvrOpenFailure | 'bad_time';

/**
 * Reasons that mean someone without the key, or a replayer, is on the broker. `stale` (an old retained
 * status) and `duplicate` (a QoS-1 redelivery) are normal life of MQTT and raise nothing.
 */
export const FORGERY_REASONS: ReadonlySet<string> = new Set<NvrRejectReason>([
  'unsigned',
  'bad_mac',
  'unknown_key',
  'replay',
  'malformed',
  'bad_time',
]);

export const NVR_KEY_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
export const MIN_NVR_KEY_LENGTH = 32;
export const DEFAULT_MAX_SKEW_SECONDS = 300;
const ENVELOPE_VERSION = 1;
/** Room for the envelope around a body of MAX_NVR_PAYLOAD_BYTES. */
const MAX_ENVELOPE_BYTES = MAX_NVR_PAYLOAD_BYTES + 1024;
const ENVELOPE_KEYS = ['body', 'kid', 'mac', 'nonce', 'ts', 'v'];
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const NONCE = /^[0-9a-f]{32}$/;
const MAC = /^[0-9a-f]{64}$/;
const keyIdPattern = new RegExp(NVR_KEY_ID_PATTERN);

export interface NvrEnvelope {
  v: 1;
  kid: string;
  ts: string;
  nonce: string;
  body: Record<string, unknown>;
  mac: string;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, `undefined` members left out
 * (as JSON.stringify does). Both ends compute it from parsed values, so the sender's key order and spacing
 * never matter.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const members = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialise ${typeof value}`);
}

/** The exact text whose UTF-8 bytes are MACed. */
export function macInput(fields: {
  v: number;
  kid: string;
  ts: string;
  nonce: string;
  topic: string;
  body: unknown;
}): string {
  const { v, kid, ts, nonce, topic, body } = fields;
  return canonicalJson({ v, kid, ts, nonce, topic, body });
}

function macOf(secret: string, input: string): Buffer {
  return createHmac('sha256', secret).update(input, 'utf8').digest();
}

/** Seals a body for a topic. `ts` and `nonce` are fixed only by tests and the doc's worked example. */
export function seal(
  key: NvrKey,
  topic: string,
  body: object,
  at: { now?: Date; nonce?: string } = {},
): string {
  const ts = (at.now ?? new Date()).toISOString();
  const nonce = at.nonce ?? randomBytes(16).toString('hex');
  // Round-trip first: what the receiver parses is what gets MACed.
  const plain = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  const mac = macOf(
    key.secret,
    macInput({ v: ENVELOPE_VERSION, kid: key.id, ts, nonce, topic, body: plain }),
  );
  const envelope: NvrEnvelope = {
    v: ENVELOPE_VERSION,
    kid: key.id,
    ts,
    nonce,
    body: plain,
    mac: mac.toString('hex'),
  };
  return JSON.stringify(envelope);
}

export type Opened =
  | { ok: true; body: Record<string, unknown>; kid: string; ts: number; nonce: string }
  | { ok: false; reason: NvrOpenFailure; why: string };

/** MQTT flags of the delivered packet that change how a repeat is read. */
export interface PacketFlags {
  /** Set by the broker on a QoS-1 redelivery. */
  dup?: boolean | undefined;
  /** Set on the retained message a new subscription receives. */
  retain?: boolean | undefined;
}

export interface NvrAuthOptions {
  /** The first key signs; every key verifies (two during a rotation). */
  keys: NvrKey[];
  maxSkewSeconds?: number;
  now?: () => Date;
  /** Nonces remembered; past this the oldest go and anything signed before them counts as a replay. */
  replayCapacity?: number;
}

/** Seals outgoing messages and opens incoming ones, with a replay cache covering the skew window. */
export class NvrAuth {
  private readonly keys: Map<string, string>;
  private readonly signer: NvrKey;
  readonly maxSkewMs: number;
  private readonly now: () => Date;
  private readonly capacity: number;
  /** nonce → envelope ts (ms), in insertion order. */
  private readonly seen = new Map<string, number>();
  /** Messages signed at or before this were possibly forgotten: they cannot be proven fresh. */
  private floorTs = Number.NEGATIVE_INFINITY;

  constructor(options: NvrAuthOptions) {
    if (options.keys.length === 0) throw new Error('nvr auth: at least one key is required');
    for (const key of options.keys) checkKey(key);
    this.keys = new Map(options.keys.map((k) => [k.id, k.secret]));
    if (this.keys.size !== options.keys.length) throw new Error('nvr auth: key ids must be unique');
    this.signer = options.keys[0] as NvrKey;
    this.maxSkewMs = (options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS) * 1000;
    this.now = options.now ?? (() => new Date());
    this.capacity = options.replayCapacity ?? 50_000;
  }

  seal(topic: string, body: object): string {
    return seal(this.signer, topic, body, { now: this.now() });
  }

  open(topic: string, payload: Buffer, flags: PacketFlags = {}): Opened {
    if (payload.length > MAX_ENVELOPE_BYTES)
      return fail('malformed', `payload too large (${payload.length} bytes)`);
    let data: unknown;
    try {
      data = JSON.parse(payload.toString('utf8'));
    } catch {
      return fail('malformed', 'not JSON');
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      return fail('malformed', 'not an object');
    const e = data as Record<string, unknown>;
    if (!('mac' in e)) return fail('unsigned', 'no mac');
    const keys = Object.keys(e).sort();
    if (keys.length !== ENVELOPE_KEYS.length || keys.some((k, i) => k !== ENVELOPE_KEYS[i]))
      return fail('malformed', 'envelope keys must be exactly v, kid, ts, nonce, body, mac');
    if (e.v !== ENVELOPE_VERSION) return fail('malformed', 'unknown envelope version');
    if (typeof e.kid !== 'string' || !keyIdPattern.test(e.kid)) return fail('malformed', 'bad kid');
    if (typeof e.ts !== 'string' || !ISO_MS.test(e.ts) || Number.isNaN(Date.parse(e.ts)))
      return fail('malformed', 'bad ts');
    if (typeof e.nonce !== 'string' || !NONCE.test(e.nonce)) return fail('malformed', 'bad nonce');
    if (typeof e.mac !== 'string' || !MAC.test(e.mac)) return fail('malformed', 'bad mac field');
    if (typeof e.body !== 'object' || e.body === null || Array.isArray(e.body))
      return fail('malformed', 'body must be an object');
    const secret = this.keys.get(e.kid);
    if (secret === undefined) return fail('unknown_key', 'key id not among ours');
    let expected: Buffer;
    try {
      expected = macOf(
        secret,
        macInput({ v: e.v, kid: e.kid, ts: e.ts, nonce: e.nonce, topic, body: e.body }),
      );
    } catch {
      return fail('malformed', 'body cannot be serialised');
    }
    if (!timingSafeEqual(expected, Buffer.from(e.mac, 'hex'))) return fail('bad_mac', 'mac does not match');

    // Authentic from here on: the question is whether it is fresh.
    const ts = Date.parse(e.ts);
    const now = this.now().getTime();
    const age = now - ts;
    const skewS = this.maxSkewMs / 1000;
    if (flags.retain && age > this.maxSkewMs)
      return fail('stale', `retained message signed ${Math.round(age / 1000)} s ago`);
    if (Math.abs(age) > this.maxSkewMs)
      return fail(
        'replay',
        `signed ${Math.round(age / 1000)} s from our clock (allowed ±${skewS} s): replayed, or clocks apart`,
      );
    this.forget(now);
    if (this.seen.has(e.nonce)) {
      // The broker resends unacknowledged QoS-1 packets with DUP, and a retained one on every subscription.
      if (flags.dup || flags.retain) return fail('duplicate', 'nonce seen before (broker redelivery)');
      return fail('replay', 'nonce seen before');
    }
    if (ts <= this.floorTs) return fail('replay', 'older than the replay cache remembers');
    this.remember(e.nonce, ts);
    return { ok: true, body: e.body as Record<string, unknown>, kid: e.kid, ts, nonce: e.nonce };
  }

  /** Nonces whose message can no longer pass the skew check need not be remembered. */
  private forget(now: number): void {
    // Insertion order is close to ts order; stopping at the first live one keeps some longer, which is safe.
    for (const [nonce, ts] of this.seen) {
      if (ts + this.maxSkewMs >= now) break;
      this.seen.delete(nonce);
    }
  }

  private remember(nonce: string, ts: number): void {
    this.seen.set(nonce, ts);
    while (this.seen.size > this.capacity) {
      const [oldest, oldestTs] = this.seen.entries().next().value as [string, number];
      this.seen.delete(oldest);
      this.floorTs = Math.max(this.floorTs, oldestTs);
    }
  }
}

const fail = (reason: NvrOpenFailure, why: string): Opened => ({ ok: false, reason, why });

/** A key is usable: a valid id and at least MIN_NVR_KEY_LENGTH characters. The error never shows the secret. */
export function checkKey(key: NvrKey): void {
  if (!keyIdPattern.test(key.id))
    throw new Error(`nvr auth: key id "${key.id}" must match ${NVR_KEY_ID_PATTERN}`);
  if (key.secret.length < MIN_NVR_KEY_LENGTH)
    throw new Error(`nvr auth: key ${key.id} must be at least ${MIN_NVR_KEY_LENGTH} characters`);
}
