import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

type Kind = 'counter' | 'gauge' | 'histogram';
type Call = { method: string; args: unknown[] };

/** How many calls a metric keeps before prom-client is loaded (a start takes well under a second). */
const MAX_EARLY_CALLS = 1000;

/**
 * Stands for one prom-client metric until prom-client is loaded, which happens after the door is ready: loading
 * it is one of the largest costs of a start. Calls made before are kept and replayed on the real metric.
 */
class DeferredMetric {
  target: Record<string, (...args: unknown[]) => unknown> | undefined;
  readonly early: Call[] = [];
  readonly surface: unknown;

  constructor(load: () => Promise<unknown>) {
    this.surface = new Proxy(
      {},
      {
        get: (_, method) => {
          // Not a promise (`then`), whatever else is asked of it.
          if (typeof method !== 'string' || method === 'then') return undefined;
          return (...args: unknown[]) => {
            if (this.target) return this.target[method]!(...args);
            // Reading a value (prom-client's `get` answers a promise) is a reason to load now, as a scrape is.
            if (method === 'get') return load().then(() => this.target!.get!(...args));
            // A timer started early observes its seconds when it ends, replayed like the rest.
            if (method === 'startTimer') {
              const started = performance.now();
              const labels = (args[0] ?? {}) as Record<string, unknown>;
              return (more: Record<string, unknown> = {}) => {
                const seconds = (performance.now() - started) / 1000;
                const all = { ...labels, ...more };
                const call = Object.keys(all).length > 0 ? [all, seconds] : [seconds];
                if (this.target) this.target.observe!(...call);
                else this.keep({ method: 'observe', args: call });
                return seconds;
              };
            }
            this.keep({ method, args });
            return undefined;
          };
        },
      },
    );
  }

  attach(target: Record<string, (...args: unknown[]) => unknown>): void {
    this.target = target;
    for (const call of this.early.splice(0)) target[call.method]!(...call.args);
  }

  private keep(call: Call): void {
    if (this.early.length < MAX_EARLY_CALLS) this.early.push(call);
  }
}

interface Definition {
  kind: Kind;
  name: string;
  help: string;
  labelNames?: readonly string[];
  buckets?: number[];
  collect?: () => void;
}

/** Prometheus metrics. Labels never carry identity: door ids, outcomes, reason codes, alarm codes. */
export class Metrics {
  // First: the field initializers below add to it.
  private readonly definitions: { definition: Definition; deferred: DeferredMetric }[] = [];
  private loading: Promise<Registry> | undefined;

  readonly swipes = this.define<Counter<'door' | 'outcome' | 'reason'>>('counter', {
    name: 'dorvakt_swipes_total',
    help: 'Swipes by door, outcome and reason code',
    labelNames: ['door', 'outcome', 'reason'] as const,
  });
  readonly decisionSeconds = this.define<Histogram<'door'>>('histogram', {
    name: 'dorvakt_decision_seconds',
    help: 'Time from a complete card frame to the decision (including the library system)',
    labelNames: ['door'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  readonly entrySyncSeconds = this.define<Histogram<string>>('histogram', {
    name: 'dorvakt_entry_sync_seconds',
    help: "Time a sync of the door's entries took after the relay (store.entry_sync after_relay): a power cut inside it loses them",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  });
  readonly entrySyncFailures = this.define<Counter<string>>('counter', {
    name: 'dorvakt_entry_sync_failures_total',
    help: "Syncs of the door's entries after the relay that failed (the store then syncs before the relay)",
  });
  /** Rows in the door's journal not yet handed on to the store (set by the app; read at each scrape). */
  undeliveredRows: () => number = () => 0;
  readonly journalUndelivered = this.define<Gauge<string>>('gauge', {
    name: 'dorvakt_journal_undelivered_rows',
    help: "Rows of swipes in the door's journal not yet handed on to the store (it stays high while the store cannot be written)",
    collect: () => {
      this.journalUndelivered.set(this.undeliveredRows());
    },
  });
  readonly doorLocked = this.define<Gauge<'door'>>('gauge', {
    name: 'dorvakt_door_locked',
    help: '1 when locked',
    labelNames: ['door'] as const,
  });
  readonly doorOpen = this.define<Gauge<'door'>>('gauge', {
    name: 'dorvakt_door_open',
    help: '1 when the contact reads open',
    labelNames: ['door'] as const,
  });
  readonly alarmActive = this.define<Gauge<'alarm' | 'door'>>('gauge', {
    name: 'dorvakt_alarm_active',
    help: '1 while an alarm is active',
    labelNames: ['alarm', 'door'] as const,
  });
  readonly ilsUp = this.define<Gauge<string>>('gauge', {
    name: 'dorvakt_ils_up',
    help: '1 when the library system answers',
  });
  readonly brokerUp = this.define<Gauge<string>>('gauge', {
    name: 'dorvakt_mqtt_connected',
    help: '1 when connected to the MQTT broker',
  });
  readonly oldestFootageSeconds = this.define<Gauge<string>>('gauge', {
    name: 'dorvakt_oldest_footage_age_seconds',
    help: 'Age of the oldest footage outside holds, as the recorder reports it',
  });

  readonly nvrRejected = this.define<Counter<'reason'>>('counter', {
    name: 'dorvakt_nvr_rejected_total',
    help: 'Recorder messages dropped by the controller, by why (bad_mac, replay, stale, duplicate, …)',
    labelNames: ['reason'] as const,
  });

  readonly readerRejected = this.define<Counter<'door' | 'why'>>('counter', {
    name: 'dorvakt_reader_rejected_total',
    help: 'Reader input dropped, by door and why (bad_checksum: Wiegand parity, bad_length, garbage: noise, …)',
    labelNames: ['door', 'why'] as const,
  });

  readonly mqttRefused = this.define<Counter<'kind'>>('counter', {
    name: 'dorvakt_mqtt_refused_total',
    help: 'Outgoing MQTT payloads refused for breaking the contract (docs/mqtt.md), by kind (event, doorState, info)',
    labelNames: ['kind'] as const,
  });

  readonly counterRejected = this.define<Counter<'door' | 'why'>>('counter', {
    name: 'dorvakt_counter_rejected_total',
    help: 'People-counter MQTT messages refused (docs/occupancy.md), by door and why (too_large, not_json, schema, duplicate)',
    labelNames: ['door', 'why'] as const,
  });

  readonly fleetRulesRejected = this.define<Counter<'why'>>('counter', {
    name: 'dorvakt_fleet_rules_rejected_total',
    help: 'Rules documents from the fleet refused, by why (malformed, unsigned, bad_signature, invalid, stale)',
    labelNames: ['why'] as const,
  });

  readonly homeassistantCommands = this.define<Counter<'door' | 'outcome'>>('counter', {
    name: 'dorvakt_homeassistant_commands_total',
    help: 'Lock commands from Home Assistant, by door and outcome (done, disabled, outside_staffed_hours, …)',
    labelNames: ['door', 'outcome'] as const,
  });

  /**
   * Loads prom-client and creates the metrics, replaying what was counted before. The app calls it once the
   * doors are ready; a scrape waits for it.
   */
  load(): Promise<Registry> {
    this.loading ??= this.loadInTurns();
    return this.loading;
  }

  /**
   * In three turns of the event loop, so a swipe waits for at most one of them: OpenTelemetry's API (which
   * prom-client's process CPU metric requires, the largest part), prom-client, then the metrics.
   */
  private async loadInTurns(): Promise<Registry> {
    await nextTurn();
    // Resolved from prom-client's own place, so it is the copy prom-client then finds in require's cache.
    const fromPromClient = createRequire(createRequire(import.meta.url).resolve('prom-client'));
    fromPromClient('@opentelemetry/api');
    await nextTurn();
    const prom = await import('prom-client');
    await nextTurn();
    const registry = new prom.Registry();
    for (const { definition, deferred } of this.definitions) {
      const { kind, ...options } = definition;
      const made = (kind === 'counter'
        ? new prom.Counter({ ...options, registers: [registry] })
        : kind === 'gauge'
          ? new prom.Gauge({ ...options, registers: [registry] })
          : new prom.Histogram({ ...options, registers: [registry] })) as unknown as Record<
        string,
        (...args: unknown[]) => unknown
      >;
      deferred.attach(made);
    }
    prom.collectDefaultMetrics({ register: registry, prefix: 'dorvakt_' });
    return registry;
  }

  /** Whether prom-client's load has begun (tests). */
  get loadStarted(): boolean {
    return this.loading !== undefined;
  }

  /** The text a Prometheus scrape gets. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const registry = await this.load();
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** One metric as text (tests). */
  async text(name: string): Promise<string> {
    return (await this.load()).getSingleMetricAsString(name);
  }

  private define<M>(kind: Kind, definition: Omit<Definition, 'kind'>): M {
    const deferred = new DeferredMetric(() => this.load());
    this.definitions.push({ definition: { kind, ...definition }, deferred });
    return deferred.surface as M;
  }
}
