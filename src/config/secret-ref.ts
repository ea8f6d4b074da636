/** JSON schema of a secret reference; its own file so module schemas can share it without an import cycle. */
export const secretRef = {
  type: 'object',
  additionalProperties: false,
  description: 'A secret read from a file or an environment variable; never written in the config itself.',
  properties: { file: { type: 'string', minLength: 1 }, env: { type: 'string', minLength: 1 } },
  minProperties: 1,
  maxProperties: 1,
} as const;

/** A secret read from a file or an environment variable. */
export type SecretRef = { file: string } | { env: string };
