/**
 * The agent's side of the NVR contract's authentication: keys from its config, a verifier that counts what
 * it drops (published in its status as `rejected`, since the agent has no alarms of its own), and the
 * body-level time check of requests.
 */
import { readFileSync } from 'node:fs';
import type { MqttTlsConfig } from '../events/mqtt-tls.ts';
import { resolve } from 'node:path';
import {
  DEFAULT_MAX_SKEW_SECONDS,
  NVR_KEY_ID_PATTERN,
  NvrAuth,
  type NvrKey,
  type NvrRejectReason,
  type PacketFlags,
} from '../contract/nvr-auth.ts';

export interface AgentAuthConfig {
  /** The first signs, all verify. Each names exactly one of secret_file, secret_env. */
  keys: { id: string; secret_file?: string | undefined; secret_env?: string | undefined }[];
  max_skew_seconds: number;
}

/** The agent's `mqtt.tls`: the same settings as the controller's. */
export type AgentTlsConfig = MqttTlsConfig;

export const agentAuthSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      minItems: 1,
      maxItems: 4,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: { type: 'string', pattern: NVR_KEY_ID_PATTERN },
          secret_file: { type: 'string', minLength: 1 },
          secret_env: { type: 'string', minLength: 1 },
        },
        oneOf: [{ required: ['secret_file'] }, { required: ['secret_env'] }],
      },
    },
    max_skew_seconds: { type: 'integer', minimum: 5, maximum: 3600, default: DEFAULT_MAX_SKEW_SECONDS },
  },
} as const;

export const agentTlsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ca_file: { type: 'string', minLength: 1 },
    cert_file: { type: 'string', minLength: 1 },
    key_file: { type: 'string', minLength: 1 },
    reject_unauthorized: { type: 'boolean', default: true },
  },
} as const;

/** Relative paths are relative to the config file. */
export function resolveAuthPaths(
  auth: AgentAuthConfig,
  tls: AgentTlsConfig | undefined,
  baseDir: string,
): void {
  for (const key of auth.keys) if (key.secret_file) key.secret_file = resolve(baseDir, key.secret_file);
  if (!tls) return;
  for (const name of ['ca_file', 'cert_file', 'key_file'] as const) {
    const file = tls[name];
    if (file) tls[name] = resolve(baseDir, file);
  }
}

/** Reads the secrets; errors name the key and the source, never the content. */
export function readAgentKeys(auth: AgentAuthConfig, env: NodeJS.ProcessEnv = process.env): NvrKey[] {
  return auth.keys.map((k) => {
    let secret: string | undefined;
    if (k.secret_env) {
      secret = env[k.secret_env]?.trim();
      if (!secret) throw new Error(`auth key ${k.id}: environment variable ${k.secret_env} is not set`);
    } else {
      try {
        secret = readFileSync(k.secret_file as string, 'utf8').trim();
      } catch (error) {
        throw new Error(
          `auth key ${k.id}: cannot read ${k.secret_file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    }
    return { id: k.id, secret };
  });
}

/** mqtt.js options for `mqtts://` from the TLS section (files read now). */

export type Verified = { ok: true; body: Buffer } | { ok: false; reason: NvrRejectReason; why: string };

/** Opens requests, checks their own `ts`, and counts every drop by reason. */
export class AgentGuard {
  private readonly auth: NvrAuth;
  private readonly counts = new Map<string, number>();

  constructor(
    keys: NvrKey[],
    maxSkewSeconds: number,
    private readonly now: () => Date,
  ) {
    this.auth = new NvrAuth({ keys, maxSkewSeconds, now });
  }

  seal(topic: string, body: object): string {
    return this.auth.seal(topic, body);
  }

  /** The body as bytes for the strict request parsers, or why it was dropped (and counted). */
  verifyRequest(topic: string, payload: Buffer, flags: PacketFlags): Verified {
    const opened = this.auth.open(topic, payload, flags);
    if (!opened.ok) return this.count(opened.reason, opened.why);
    // A request made in the future would outrank every later hold list (the year-9999 purge). One made long
    // ago is fine: the controller resends a stored request unchanged until it is answered, sealed afresh.
    const ts = opened.body.ts;
    const at = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
    if (Number.isNaN(at)) return this.count('malformed', 'request without a valid ts');
    const drift = at - this.now().getTime();
    if (drift > this.auth.maxSkewMs)
      return this.count('bad_time', `request ts ${Math.round(drift / 1000)} s ahead of our clock`);
    return { ok: true, body: Buffer.from(JSON.stringify(opened.body), 'utf8') };
  }

  private count(reason: NvrRejectReason, why: string): Verified {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    return { ok: false, reason, why };
  }

  /** Drops since start, by reason, for the status. */
  rejected(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}
