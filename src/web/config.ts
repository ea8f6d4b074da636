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
  /** Failed logins for one user name before that user is locked out. */
  login_lockout_attempts: number;
  /** Failed logins from one address before that address is locked out. */
  login_ip_lockout_attempts: number;
  login_lockout_minutes: number;
  /** Only behind a reverse proxy that sets X-Forwarded-For; otherwise clients could fake their address. */
  trust_proxy: boolean;
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
    trust_proxy: { type: 'boolean', default: false },
    body_limit_bytes: { type: 'integer', minimum: 1024, maximum: 10485760, default: 65536 },
    consent_sign_role: { type: 'string', enum: ['staff', 'admin'], default: 'staff' },
  },
} as const;
