/** Config section: the staff dashboard. Owned by src/web. */
export interface WebConfig {
  enabled: boolean;
  host: string;
  port: number;
  tls_cert_file?: string | undefined;
  tls_key_file?: string | undefined;
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
  },
} as const;
