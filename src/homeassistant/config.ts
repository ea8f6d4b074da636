/** Config section `homeassistant`: MQTT discovery for Home Assistant (docs/homeassistant.md). */
export interface HomeAssistantConfig {
  enabled: boolean;
  /** Home Assistant's discovery prefix (its MQTT option, default `homeassistant`). */
  discovery_prefix: string;
  /** Lets Home Assistant lock and unlock the doors: off unless set; staffed hours only, audited. */
  lock_commands: boolean;
  /** How long an unlock from Home Assistant holds the door, as a staff unlock on the dashboard. */
  unlock_minutes: number;
}

export const homeAssistantSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enabled: { type: 'boolean', default: false },
    discovery_prefix: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$',
      default: 'homeassistant',
    },
    lock_commands: { type: 'boolean', default: false },
    unlock_minutes: { type: 'integer', minimum: 1, maximum: 240, default: 5 },
  },
} as const;
