/** Config section: camera retention. Owned by src/nvr (see the camera-retention issue). */
export interface NvrConfig {
  enabled: boolean;
  base_topic: string;
}

export const nvrSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: false },
    base_topic: { type: 'string', default: 'nvr' },
  },
} as const;
