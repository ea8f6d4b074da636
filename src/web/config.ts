import { isIP } from 'node:net';

/** Config section: the staff dashboard. Owned by src/web. */
export interface WebConfig {
  enabled: boolean;
  host: string;
  port: number;
  tls_cert_file?: string | undefined;
  tls_key_file?: string | undefined;
  /** Idle time after which a session ends. */
  session_ttl_minutes: number;
  cookie_name: string;
  /** Failed logins of one user name from one address before that pair has to wait (doubling waits). */
  login_lockout_attempts: number;
  /** Failed logins from one address, whatever the names, before the whole address has to wait. */
  login_ip_lockout_attempts: number;
  /** The longest wait between attempts after failures. */
  login_lockout_minutes: number;
  /**
   * Reverse proxies in front of the dashboard: how many (hops), or their addresses/CIDR ranges. The client
   * address is then taken from X-Forwarded-For past those proxies. `false` or 0: none. `true` (trust every
   * hop, so clients could pick their address) is refused by checkWebConfig.
   */
  trust_proxy: boolean | number | string[];
  body_limit_bytes: number;
  /** Who may register signed agreements and camera consents at the desk; only admins record withdrawals. */
  consent_sign_role: 'staff' | 'admin';
}

export const webSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: true },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
    tls_cert_file: { type: 'string' },
    tls_key_file: { type: 'string' },
    session_ttl_minutes: { type: 'integer', minimum: 5, maximum: 1440, default: 480 },
    cookie_name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'dorvakt_session' },
    login_lockout_attempts: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
    login_ip_lockout_attempts: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
    login_lockout_minutes: { type: 'integer', minimum: 1, maximum: 1440, default: 15 },
    trust_proxy: {
      type: ['boolean', 'integer', 'array'],
      minimum: 0,
      maximum: 16,
      items: { type: 'string', minLength: 1 },
      minItems: 1,
      default: false,
    },
    body_limit_bytes: { type: 'integer', minimum: 1024, maximum: 10485760, default: 65536 },
    consent_sign_role: { type: 'string', enum: ['staff', 'admin'], default: 'staff' },
  },
} as const;

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Whether an entry is an address, a CIDR range or one of proxy-addr's range names. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address = '', bits, ...extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

/**
 * `true` from old configs: the dashboard refuses to start (alarm `part_failed`, naming it) while the door runs.
 * It is not a config error, since a config error would keep the door locked after an upgrade.
 */
export const TRUST_PROXY_TRUE_REFUSED =
  'web.trust_proxy: true is no longer accepted (it let clients pick their own address): give the number of proxies in front of the dashboard (e.g. 1) or their addresses (e.g. [127.0.0.1]); false for none';

/** Rules the schema cannot say; keys are relative to `web`. */
export function checkWebConfig(web: WebConfig): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  if (Array.isArray(web.trust_proxy)) {
    web.trust_proxy.forEach((entry, i) => {
      if (!isProxyAddress(entry))
        problems.push({
          key: `trust_proxy.${i}`,
          message: `"${entry}" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal`,
        });
    });
  }
  return problems;
}

/** fastify's trustProxy for the setting. A hop count trusts that many hops whoever the peer is. */
export function trustProxyOption(
  tp: WebConfig['trust_proxy'],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (tp === true) throw new Error(TRUST_PROXY_TRUE_REFUSED);
  if (Array.isArray(tp)) return tp;
  // fastify fails closed on a plain number, so the hop count is given as a function.
  if (typeof tp === 'number' && tp > 0) return (_address, hop) => hop < tp;
  return false;
}
