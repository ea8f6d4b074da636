import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics. Labels never carry identity: door ids, outcomes, reason codes, alarm codes. */
export class Metrics {
  readonly registry = new Registry();
  readonly swipes = new Counter({
    name: 'dorvakt_swipes_total',
    help: 'Swipes by door, outcome and reason code',
    labelNames: ['door', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });
  readonly decisionSeconds = new Histogram({
    name: 'dorvakt_decision_seconds',
    help: 'Time from a complete card frame to the decision (including the library system)',
    labelNames: ['door'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly entrySyncSeconds = new Histogram({
    name: 'dorvakt_entry_sync_seconds',
    help: "Time a sync of the door's entries took after the relay (store.entry_sync after_relay): a power cut inside it loses them",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly entrySyncFailures = new Counter({
    name: 'dorvakt_entry_sync_failures_total',
    help: "Syncs of the door's entries after the relay that failed (the store then syncs before the relay)",
    registers: [this.registry],
  });
  /** Rows in the door's journal not yet handed on to the store (set by the app; read at each scrape). */
  undeliveredRows: () => number = () => 0;
  readonly journalUndelivered = new Gauge({
    name: 'dorvakt_journal_undelivered_rows',
    help: "Rows of swipes in the door's journal not yet handed on to the store (it stays high while the store cannot be written)",
    registers: [this.registry],
    collect: () => {
      this.journalUndelivered.set(this.undeliveredRows());
    },
  });
  readonly doorLocked = new Gauge({
    name: 'dorvakt_door_locked',
    help: '1 when locked',
    labelNames: ['door'] as const,
    registers: [this.registry],
  });
  readonly doorOpen = new Gauge({
    name: 'dorvakt_door_open',
    help: '1 when the contact reads open',
    labelNames: ['door'] as const,
    registers: [this.registry],
  });
  readonly alarmActive = new Gauge({
    name: 'dorvakt_alarm_active',
    help: '1 while an alarm is active',
    labelNames: ['alarm', 'door'] as const,
    registers: [this.registry],
  });
  readonly ilsUp = new Gauge({
    name: 'dorvakt_ils_up',
    help: '1 when the library system answers',
    registers: [this.registry],
  });
  readonly brokerUp = new Gauge({
    name: 'dorvakt_mqtt_connected',
    help: '1 when connected to the MQTT broker',
    registers: [this.registry],
  });
  readonly oldestFootageSeconds = new Gauge({
    name: 'dorvakt_oldest_footage_age_seconds',
    help: 'Age of the oldest footage outside holds, as the recorder reports it',
    registers: [this.registry],
  });

  readonly nvrRejected = new Counter({
    name: 'dorvakt_nvr_rejected_total',
    help: 'Recorder messages dropped by the controller, by why (bad_mac, replay, stale, duplicate, …)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly readerRejected = new Counter({
    name: 'dorvakt_reader_rejected_total',
    help: 'Reader input dropped, by door and why (bad_checksum: Wiegand parity, bad_length, garbage: noise, …)',
    labelNames: ['door', 'why'] as const,
    registers: [this.registry],
  });

  readonly mqttRefused = new Counter({
    name: 'dorvakt_mqtt_refused_total',
    help: 'Outgoing MQTT payloads refused for breaking the contract (docs/mqtt.md), by kind (event, doorState, info)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly counterRejected = new Counter({
    name: 'dorvakt_counter_rejected_total',
    help: 'People-counter MQTT messages refused (docs/occupancy.md), by door and why (too_large, not_json, schema, duplicate)',
    labelNames: ['door', 'why'] as const,
    registers: [this.registry],
  });

  readonly fleetRulesRejected = new Counter({
    name: 'dorvakt_fleet_rules_rejected_total',
    help: 'Rules documents from the fleet refused, by why (malformed, unsigned, bad_signature, invalid, stale)',
    labelNames: ['why'] as const,
    registers: [this.registry],
  });

  readonly homeassistantCommands = new Counter({
    name: 'dorvakt_homeassistant_commands_total',
    help: 'Lock commands from Home Assistant, by door and outcome (done, disabled, outside_staffed_hours, …)',
    labelNames: ['door', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'dorvakt_' });
  }
}
