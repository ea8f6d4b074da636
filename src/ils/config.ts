/** Config section: the library system over SIP2. Owned by src/ils (see the SIP2 issue). */
export interface IlsConfig {
  host: string;
  port: number;
}

export const ilsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'port'],
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
  },
} as const;
