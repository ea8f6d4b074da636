import type { DoorHardwareConfig } from '../door/config.ts';
import type { FleetRulesConfig } from '../fleet-rules/config.ts';
import type { HomeAssistantConfig } from '../homeassistant/config.ts';
import type { FleetBranchConfig } from '../fleet/config.ts';
import type { IlsConfig } from '../ils/config.ts';
import type { NvrConfig } from '../nvr/config.ts';
import type { OccupancyConfig } from '../occupancy/config.ts';
import type { ReaderConfig } from '../reader/config.ts';
import type { ScheduleConfig } from '../schedule/config.ts';
import type { StatesConfig } from '../states/config.ts';
import type { WebConfig } from '../web/config.ts';

import type { MqttTlsConfig } from '../events/mqtt-tls.ts';
import type { SecretRef } from './secret-ref.ts';

export type { MqttTlsConfig, SecretRef };

export interface DoorConfig {
  id: string;
  name?: string | undefined;
  staffed_mode: 'card' | 'unlocked';
  require_pin: boolean;
  schedule: ScheduleConfig;
  reader: ReaderConfig;
  hardware: DoorHardwareConfig;
}

export interface AccessRules {
  min_age: number;
  categories_allowed_alone: string[];
  categories_denied: string[];
  /** Words for category codes, per language (`V: { nb: Voksen, … }`); a code without one shows as itself. */
  category_labels?: Record<string, Partial<Record<'nb' | 'da' | 'en', string>>> | undefined;
  pin_lockout_attempts: number;
  pin_lockout_minutes: number;
}

/** The validated config, defaults filled in. Mirrors config/schema.ts. */
export interface DorvaktConfig {
  /** After loading: the current version (older files are migrated in memory). */
  version?: number | undefined;
  site: {
    id: string;
    name: string;
    timezone: string;
    country: string;
    region?: string | undefined;
    language: 'nb' | 'da' | 'en';
  };
  secrets: { card_hmac_key: SecretRef };
  doors: DoorConfig[];
  access: AccessRules;
  patrons: {
    source: 'local' | 'sip2';
    inactive_years: number;
    offline_policy: 'deny' | 'allow_known';
    offline_known_days: number;
  };
  ils?: IlsConfig | undefined;
  store: { path: string; entry_sync: 'after_relay' | 'before_relay' };
  entries: { identified_days: number; anonymise_at: string };
  mqtt: {
    url: string;
    base_topic?: string | undefined;
    username?: string | undefined;
    password?: SecretRef | undefined;
    tls?: MqttTlsConfig | undefined;
    /** 5 or 4 (MQTT 3.1.1); unset: 5, or 4 for the embedded broker. */
    protocol_version?: 4 | 5 | undefined;
    embedded_fallback: boolean;
  };
  nvr: NvrConfig;
  /** MQTT discovery for Home Assistant (docs/homeassistant.md). */
  homeassistant: HomeAssistantConfig;
  /** This branch in a fleet: figures to the centre (docs/fleet.md), the centre's signed rules (docs/fleet-rules.md). */
  fleet: FleetBranchConfig & FleetRulesConfig;
  /** The site's states and the outputs and announcements they drive (docs/states.md). */
  states: StatesConfig;
  /** People counters, the closing sweep and tailgating (docs/occupancy.md); absent in configs built in code. */
  occupancy?: OccupancyConfig | undefined;
  web: WebConfig;
  ops: { host: string; port: number };
  log: { level: string };
}
