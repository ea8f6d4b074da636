/** Config section: the library system over SIP2. Owned by src/ils (see the SIP2 issue and docs/sip2.md). */
import { resolve } from 'node:path';
import type { SecretRef } from '../config/secret-ref.ts';
import { secretRef } from '../config/secret-ref.ts';

export type SipEncoding = 'cp850' | 'latin1' | 'utf8';

/** What a 'Y' in a patron status position means for the door. */
export type StatusFlag = 'blocked' | 'card_lost' | 'expired' | 'fines';

export interface IlsTlsConfig {
  enabled: boolean;
  /** PEM CA bundle to trust (a private CA or a self-signed stunnel certificate). */
  ca_file?: string | undefined;
  /** Client certificate and key, when the server asks for one. */
  cert_file?: string | undefined;
  key_file?: string | undefined;
  reject_unauthorized: boolean;
  /** Name to verify in the server certificate when it differs from host. */
  servername?: string | undefined;
}

export interface IlsCircuitConfig {
  /** Consecutive failed lookups (or heartbeats) that open the circuit. */
  failure_threshold: number;
  /** Reconnect attempts while open back off from min to max. */
  backoff_min_ms: number;
  backoff_max_ms: number;
}

export interface IlsFieldCodes {
  /** Field holding the card's expiry date (YYYYMMDD…); vendors disagree, see docs/sip2.md. */
  expiry: string;
  birth_date: string;
  category: string;
}

export interface IlsConfig {
  host: string;
  port: number;
  tls: IlsTlsConfig;
  /** Login user (93 CN); no login is sent when empty (some servers bind the terminal by IP). */
  user: string;
  /** Login password (93 CO). */
  password?: SecretRef | undefined;
  /** Institution id (AO). */
  institution: string;
  /** Location code (93 CP). */
  location: string;
  /** Terminal password (AC) sent with patron requests. */
  terminal_password?: SecretRef | undefined;
  encoding: SipEncoding;
  error_detection: boolean;
  /** 63 patron information (default; FOLIO has no 23) or 23 patron status. */
  message: 63 | 23;
  /** Send 35 end patron session after each lookup (some servers keep per-patron state). */
  end_session: boolean;
  connect_timeout_ms: number;
  request_timeout_ms: number;
  /** Resends (97/96) of one message before giving up; the server's 98 retries field can lower it. */
  resend_limit: number;
  /** Extra attempts of one lookup on a fresh connection after the connection dropped. */
  retries: number;
  /** SC status (99) on an idle connection every N seconds; 0 turns it off. */
  heartbeat_seconds: number;
  pool_size: number;
  /** How long a good answer is reused for the same card (and PIN); 0 turns caching off. */
  cache_seconds: number;
  circuit: IlsCircuitConfig;
  /** Patron status positions (0–13) whose 'Y' denies, and as what. */
  status_deny: Record<string, StatusFlag>;
  /** Deny when fee amount (BV) is above this; unset = fees never deny. */
  fines_limit?: number | undefined;
  fields: IlsFieldCodes;
}

const fieldCode = { type: 'string', pattern: '^[A-Z0-9]{2}$' } as const;

export const ilsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'port', 'institution'],
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    tls: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false },
        ca_file: { type: 'string', minLength: 1 },
        cert_file: { type: 'string', minLength: 1 },
        key_file: { type: 'string', minLength: 1 },
        reject_unauthorized: { type: 'boolean', default: true },
        servername: { type: 'string', minLength: 1 },
      },
      dependencies: { cert_file: ['key_file'], key_file: ['cert_file'] },
    },
    user: { type: 'string', default: '' },
    password: secretRef,
    institution: { type: 'string' },
    location: { type: 'string', default: '' },
    terminal_password: secretRef,
    encoding: { type: 'string', enum: ['cp850', 'latin1', 'utf8'], default: 'cp850' },
    error_detection: { type: 'boolean', default: true },
    message: { type: 'integer', enum: [63, 23], default: 63 },
    end_session: { type: 'boolean', default: false },
    connect_timeout_ms: { type: 'integer', minimum: 100, maximum: 60000, default: 3000 },
    request_timeout_ms: { type: 'integer', minimum: 100, maximum: 60000, default: 3000 },
    resend_limit: { type: 'integer', minimum: 0, maximum: 10, default: 2 },
    retries: { type: 'integer', minimum: 0, maximum: 5, default: 1 },
    heartbeat_seconds: { type: 'integer', minimum: 0, maximum: 3600, default: 60 },
    pool_size: { type: 'integer', minimum: 1, maximum: 8, default: 1 },
    cache_seconds: { type: 'integer', minimum: 0, maximum: 600, default: 30 },
    circuit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        failure_threshold: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
        backoff_min_ms: { type: 'integer', minimum: 10, maximum: 600000, default: 1000 },
        backoff_max_ms: { type: 'integer', minimum: 10, maximum: 3600000, default: 60000 },
      },
    },
    status_deny: {
      type: 'object',
      additionalProperties: false,
      default: { '0': 'blocked', '4': 'card_lost' },
      patternProperties: {
        '^(?:[0-9]|1[0-3])$': { type: 'string', enum: ['blocked', 'card_lost', 'expired', 'fines'] },
      },
    },
    fines_limit: { type: 'number', minimum: 0 },
    fields: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        expiry: { ...fieldCode, default: 'PA' },
        birth_date: { ...fieldCode, default: 'PB' },
        category: { ...fieldCode, default: 'PC' },
      },
    },
  },
} as const;

/** Defaults for code that builds an IlsConfig without the config loader (ils-check flags, tests, demo). */
export function ilsConfigWithDefaults(
  partial: Partial<IlsConfig> & Pick<IlsConfig, 'host' | 'port' | 'institution'>,
): IlsConfig {
  return {
    user: '',
    location: '',
    encoding: 'cp850',
    error_detection: true,
    message: 63,
    end_session: false,
    connect_timeout_ms: 3000,
    request_timeout_ms: 3000,
    resend_limit: 2,
    retries: 1,
    heartbeat_seconds: 60,
    pool_size: 1,
    cache_seconds: 30,
    status_deny: { '0': 'blocked', '4': 'card_lost' },
    ...partial,
    tls: { enabled: false, reject_unauthorized: true, ...partial.tls },
    circuit: { failure_threshold: 3, backoff_min_ms: 1000, backoff_max_ms: 60000, ...partial.circuit },
    fields: { expiry: 'PA', birth_date: 'PB', category: 'PC', ...partial.fields },
  };
}

/** Makes file paths in the section relative to the config file's folder (called by the loader). */
export function resolveIlsPaths(ils: IlsConfig | undefined, base: string): void {
  if (!ils) return;
  for (const ref of [ils.password, ils.terminal_password]) {
    if (ref && 'file' in ref) ref.file = resolve(base, ref.file);
  }
  for (const key of ['ca_file', 'cert_file', 'key_file'] as const) {
    const file = ils.tls[key];
    if (file) ils.tls[key] = resolve(base, file);
  }
}
