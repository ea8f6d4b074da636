import { hostname } from 'node:os';
import type { AccessPolicy } from './access/decide.ts';
import { CardCheck, type CardCheckDeps } from './access/card-check.ts';
import { AccessGate, type SwipeResult } from './access/gate.ts';
import { Alarms } from './alarms/alarms.ts';
import { readSecret } from './config/secrets.ts';
import type { DoorConfig, DorvaktConfig } from './config/types.ts';
import { Consents } from './consent/consents.ts';
import { EmergencyModes } from './emergency/modes.ts';
import { EmergencyWatcher } from './emergency/watcher.ts';
import { LocalAccessLookup } from './local-access/facts.ts';
import { lookupOnce } from './ils/one-shot.ts';
import { connectionOptionsFrom, createIlsPatronSource } from './ils/source.ts';
import type { NvrKey } from './contract/nvr-auth.ts';
import { readNvrKeys } from './nvr/keys.ts';
import type { NvrController } from './nvr/controller.ts';
import type { QueuedNvrAdminAccess } from './contract/nvr-admin.ts';
import { queuedNvrAdmin } from './nvr/queued-admin.ts';
import { FrigateRecordingSchedule } from './nvr/frigate-recording.ts';
import { OptionalPart } from './lifecycle/optional-part.ts';
import type { PatronSource } from './contract/patron.ts';
import { openCpuClock } from './door/cpu-share.ts';
import { createDoorDriver } from './door/create-driver.ts';
import { Door } from './door/door.ts';
import { decideSwipesInOrder, RuntimeDoor } from './door/runtime.ts';
import { type BrokerChoice, chooseBroker } from './events/broker.ts';
import { EventBus } from './events/bus.ts';
import { MqttLink, mqttTls } from './events/mqtt-link.ts';
import type { Logger } from './log/logger.ts';
import { describeController } from './events/mqtt-info.ts';
import { Metrics } from './ops/metrics.ts';
import { loadWhenQuiet } from './ops/quiet-load.ts';
import { LocalPatronSource } from './patrons/local-registry.ts';
import { type CardHasher, cardHasher } from './privacy/card-hash.ts';
import type { CardReader, SwipeEvent } from './reader/reader.ts';
import { SerialCardReader } from './reader/serial-reader.ts';
import { CompiledSchedules } from './schedule/compiled-schedules.ts';
import { savedPlansFor } from './schedule/saved-plans.ts';
import { type FleetException, storedFleetExceptions, withFleetExceptions } from './fleet-rules/exceptions.ts';
import type { HomeAssistantBridge } from './homeassistant/bridge.ts';
import { ScheduleWatcher } from './schedule/watcher.ts';
import type { EmergencyMode } from './states/emergency.ts';
import type { StateEngine } from './states/start.ts';
import type { RunningOccupancy } from './occupancy/start.ts';
import { outputsOf } from './states/config.ts';
import { type Db, openDoorStore } from './store/db.ts';
import { syncAfterRelay } from './store/after-commit-sync.ts';
import { journalPathFor, openDoorJournal } from './store/door-journal.ts';
import { DeferredWrites } from './store/deferred-writes.ts';
import { EntryStore } from './store/entries.ts';
import { watchJournal } from './store/journal-watch.ts';
import { walDataSync } from './store/wal-sync.ts';
import { localDate } from './time/zone.ts';

export interface AppOptions {
  config: DorvaktConfig;
  log: Logger;
  /** Where the worker process logs, when not to stdout (the demo keeps its terminal for people). */
  logFile?: string;
  /** Replace a door's reader (the demo without socat reads stdin). */
  readerFor?: (door: DoorConfig, log: Logger) => CardReader;
  /** Replace the patron source (tests). */
  patronSource?: PatronSource;
  /** Called after each decided swipe (the demo prints it in plain words). */
  onSwipe?: (door: string, result: SwipeResult, swipe: SwipeEvent) => void;
  /** Where the site's emergency mode comes from (src/states/emergency.ts); default: never one. */
  emergency?: EmergencyMode;
  /** How long the doors must be without a swipe before prom-client is loaded (default 1 s). */
  metricsQuietMs?: number;
  /** How long entries may wait in the door's journal before the alarm, and how often that is checked (tests). */
  journalAlarm?: { afterMs: number; everyMs: number };
}

/** The running controller: everything main.ts, the demo and the tests start and stop. */
export interface App {
  config: DorvaktConfig;
  db: Db;
  bus: EventBus;
  alarms: Alarms;
  consents: Consents;
  hashCard: CardHasher;
  doors: RuntimeDoor[];
  gate: AccessGate;
  /** The desk's card check (the dashboard asks it through the worker's `access.explain`). */
  cardCheck: CardCheck;
  mqtt: MqttLink;
  broker: BrokerChoice;
  metrics: Metrics;
  patrons: PatronSource;
  /** The site's emergency mode (src/emergency): `current(now)`, and its watcher that publishes changes. */
  emergency: EmergencyModes;
  emergencyWatcher: EmergencyWatcher;
  /** Camera retention (purge, verify, holds, exports) when `nvr.enabled`. */
  nvr: NvrController | undefined;
  /** Its admin calls as the worker reaches them: writes wait for the store's lock in `storeWrites`. */
  readonly nvrAdmin: QueuedNvrAdminAccess | undefined;
  /** The door process's writes to the store besides the swipe's, none waiting on the door's event loop. */
  storeWrites: DeferredWrites;
  /** Frigate recording by schedule when `nvr.frigate_recording.enabled`. */
  frigateRecording: FrigateRecordingSchedule | undefined;
  /** The site's states and outputs when `states.enabled`; undefined while it is down (retried). */
  readonly states: StateEngine | undefined;
  /** People counters, closing sweep and tailgating when `occupancy.enabled`; undefined while down (retried). */
  readonly occupancy: RunningOccupancy | undefined;
  /**
   * The fleet's rules (src/fleet-rules) when `fleet.rules_public_key_file` is set: the worker process receives,
   * checks and applies them; `changed` merges the checked exceptions it stored into the schedule again.
   */
  fleetRules: { changed(version: number): void } | undefined;
  /** Home Assistant discovery and lock commands when `homeassistant.enabled`; undefined while it is down. */
  readonly homeassistant: HomeAssistantBridge | undefined;
  /** Resolves when every door is ready to take a swipe. */
  readyAt: number;
  healthy(): { ok: boolean; checks: Record<string, boolean> };
  stop(): Promise<void>;
}

export function policyFor(config: DorvaktConfig, door: DoorConfig): AccessPolicy {
  return {
    staffedMode: door.staffed_mode,
    requirePin: door.require_pin,
    minAge: config.access.min_age,
    categoriesAllowedAlone: config.access.categories_allowed_alone,
    categoriesDenied: config.access.categories_denied,
    offlinePolicy: config.patrons.offline_policy,
  };
}

export { RuntimeDoor } from './door/runtime.ts';

const gateLockout = (config: DorvaktConfig) => ({
  attempts: config.access.pin_lockout_attempts,
  minutes: config.access.pin_lockout_minutes,
});

/** Card-check lookups to SIP2 open a connection of their own; a local registry is read directly. */
const CARD_CHECK_TIMEOUT_MS = 4000;
function sideLookup(config: DorvaktConfig, patrons: PatronSource): CardCheckDeps['lookup'] {
  const ils = config.ils;
  if (patrons.name !== 'sip2' || !ils) return (card, pin, cardHash) => patrons.lookup(card, pin, cardHash);
  const connection = connectionOptionsFrom(ils, readSecret);
  const terminalPassword = ils.terminal_password ? readSecret(ils.terminal_password) : '';
  return (card, pin) =>
    lookupOnce({ config: ils, connection, terminalPassword, timeoutMs: CARD_CHECK_TIMEOUT_MS }, card, pin);
}

export async function startApp(options: AppOptions): Promise<App> {
  const { config, log } = options;
  // The door's commits never checkpoint the WAL: the worker does (the door only while the worker is down).
  const db = openDoorStore(config.store.path);
  const hashCard = cardHasher(readSecret(config.secrets.card_hmac_key));
  const busLog = log.child({ mod: 'bus' });
  const bus = new EventBus((error, event) =>
    busLog.error(
      { err: (error as Error)?.message ?? String(error), event: event.type },
      'event listener threw',
    ),
  );
  // Every write to the store besides the swipe's, in one order, none waiting on this event loop for another
  // process's lock (the worker, an admin command): alarms, counts, the recorder's orders, audit rows.
  const storeWrites = new DeferredWrites(db, log.child({ mod: 'store' }));
  const alarms = new Alarms(db, bus, log.child({ mod: 'alarms' }), storeWrites);
  const consents = new Consents(db);
  const metrics = new Metrics();
  const storeLog = log.child({ mod: 'store' });
  // A swipe commits to the door's own journal and never waits for the worker's lock on the store.
  const journal = openDoorJournal(journalPathFor(config.store.path));
  const journalSync = walDataSync(journal);
  const entrySync = syncAfterRelay(
    journal,
    config.store.entry_sync,
    (detail) => {
      metrics.entrySyncFailures.inc();
      storeLog.error(
        { err: detail },
        'syncing entries after the relay failed; commits sync before the relay from now',
      );
      alarms.raise('store_error', '', `sync: ${detail}`);
    },
    async () => {
      const endTimer = metrics.entrySyncSeconds.startTimer();
      await journalSync();
      endTimer();
    },
  );
  // The store's commits of delivered rows sync like the swipe's: after (off the event loop) or in the commit.
  db.pragma(`synchronous = ${entrySync ? 'NORMAL' : 'FULL'}`);
  const entries = new EntryStore(db, journal, {
    requestSync: entrySync && (() => entrySync.request()),
    delivery: {
      syncStore: entrySync && walDataSync(db),
      onError: (error) =>
        storeLog.error(
          { err: (error as { code?: string }).code ?? (error as Error).message },
          'handing entries on from the door journal to the store failed; retrying',
        ),
    },
  });
  // Rows a stop or crash left in the journal.
  entries.deliver();
  metrics.undeliveredRows = () => (journal.open ? entries.undelivered : 0);
  const journalWatch = watchJournal({
    oldestUndelivered: () => (journal.open ? entries.oldestUndeliveredAt() : null),
    alarms,
    ...options.journalAlarm,
  });
  const site = { timezone: config.site.timezone, country: config.site.country, region: config.site.region };
  const watchers: ScheduleWatcher[] = [];
  let states: OptionalPart<StateEngine> | undefined;
  // Set once the doors run; read lazily by the states engine and Home Assistant.
  let occupancy: OptionalPart<RunningOccupancy> | undefined;
  // The fleet's dated exceptions merged into the doors' own, as the worker stored them after checking the
  // document: the door never checks a signature, at start or later (docs/fleet-rules.md).
  const takesFleetRules = Boolean(config.fleet?.rules_public_key_file);
  const scheduledDoors = (exceptions: readonly FleetException[] | undefined) =>
    withFleetExceptions(config.doors, config.site.id, exceptions);
  const storedExceptions = () => {
    try {
      return storedFleetExceptions(db)?.exceptions;
    } catch (error) {
      log.error({ mod: 'fleet', err: (error as Error).message }, 'fleet rules: stored exceptions unreadable');
      return undefined;
    }
  };
  const initialDoors = scheduledDoors(takesFleetRules ? storedExceptions() : undefined);
  const schedules = new CompiledSchedules({
    doors: initialDoors,
    site,
    alarms,
    log: log.child({ mod: 'schedule' }),
    onRefreshed: () => {
      for (const watcher of watchers) watcher.evaluate();
      states?.current?.refresh();
    },
    saved: savedPlansFor(db, { doors: initialDoors, site }, storeWrites),
  });
  const fleetRules = takesFleetRules
    ? {
        changed(version: number) {
          const doors = scheduledDoors(storedExceptions());
          void schedules.reconfigure(
            doors,
            savedPlansFor(db, { doors, site }, storeWrites),
            `fleet rules version ${version}`,
          );
        },
      }
    : undefined;
  // Computed in a child process while the rest starts; awaited before the first door (at once when the
  // saved plans of this config cover today: the computation then replaces them when it answers).
  const schedulesReady = schedules.start();
  schedulesReady.catch(() => {});

  const patrons: PatronSource =
    options.patronSource ??
    (config.patrons.source === 'sip2' && config.ils
      ? createIlsPatronSource(config.ils, { log: log.child({ mod: 'ils' }), alarms, readSecret })
      : new LocalPatronSource(db, hashCard, () => localDate(new Date(), config.site.timezone)));
  if (patrons.name === 'sip2') metrics.ilsUp.set(1);

  const emergency = new EmergencyModes(db);
  const localAccess = new LocalAccessLookup(db, config.site.timezone);
  const gate = new AccessGate({
    entries,
    consents,
    patrons,
    localAccess,
    emergency,
    hashCard,
    alarms,
    bus,
    log: log.child({ mod: 'access' }),
    timezone: config.site.timezone,
    language: config.site.language,
    pinLockout: gateLockout(config),
    offlineKnownDays: config.patrons.offline_known_days,
  });

  const baseTopic = config.mqtt.base_topic ?? `dorvakt/${config.site.id}`;
  const mqtt = new MqttLink(
    {
      url: config.mqtt.url,
      baseTopic,
      clientId: `dorvakt-${config.site.id}-${hostname()}`.slice(0, 64),
      username: config.mqtt.username,
      password: config.mqtt.password ? readSecret(config.mqtt.password) : undefined,
      tls: mqttTls(config.mqtt.tls),
      info: describeController(config),
      onRefused: (kind) => metrics.mqttRefused.inc({ kind }),
    },
    bus,
    alarms,
    log.child({ mod: 'mqtt' }),
  );
  mqtt.start();

  bus.subscribe((event) => {
    if (event.type === 'entry')
      metrics.swipes.inc({ door: event.door, outcome: event.outcome, reason: event.reason });
    if (event.type === 'alarm' && event.alarm === 'ils_offline')
      metrics.ilsUp.set(event.state === 'raised' ? 0 : 1);
    if (event.type === 'alarm' && event.alarm === 'broker_offline')
      metrics.brokerUp.set(event.state === 'raised' ? 0 : 1);
    if (event.type === 'alarm')
      metrics.alarmActive.set(
        { alarm: event.alarm, door: event.door ?? '' },
        event.state === 'raised' ? 1 : 0,
      );
    if (event.type === 'door') {
      metrics.doorLocked.set({ door: event.door }, event.locked ? 1 : 0);
      metrics.doorOpen.set({ door: event.door }, event.open ? 1 : 0);
    }
  });

  try {
    await schedulesReady;
  } catch (error) {
    await mqtt.stop();
    journalWatch.stop();
    await entries.stop();
    storeWrites.flush();
    journal.close();
    db.close();
    throw error;
  }
  const doors: RuntimeDoor[] = [];
  // Loaded only where a door has an OSDP reader: the door is ready sooner without it.
  const osdp = config.doors.some((d) => d.reader.profile === 'osdp')
    ? await import('./reader/osdp/reader.ts')
    : undefined;
  const wiegand = config.doors.some((d) => d.reader.profile === 'wiegand')
    ? await import('./reader/wiegand/reader.ts')
    : undefined;
  const cardCheck = new CardCheck({
    doors,
    entries,
    consents,
    hashCard,
    lookup: sideLookup(config, patrons),
    timezone: config.site.timezone,
    pinLockout: gateLockout(config),
    offlineKnownDays: config.patrons.offline_known_days,
    localAccess,
    emergency,
  });

  // For the swipe log: the door's CPU time and its wait for a CPU, per swipe.
  const cpuClock = openCpuClock();
  for (const doorConfig of config.doors) {
    const doorLog = log.child({ door: doorConfig.id });
    const schedule = schedules.schedule(doorConfig.id);
    const watcher = new ScheduleWatcher({ door: doorConfig.id, schedule, bus });
    watchers.push(watcher);
    const driver = await createDoorDriver(doorConfig.hardware, {
      door: doorConfig.id,
      log: doorLog,
      storePath: config.store.path,
    });
    const door = new Door({
      id: doorConfig.id,
      driver,
      hardware: doorConfig.hardware,
      alarms,
      bus,
      log: doorLog,
      mode: () => schedule.stateAt(new Date()),
    });
    const reader =
      options.readerFor?.(doorConfig, doorLog) ??
      (doorConfig.reader.profile === 'osdp' && osdp
        ? new osdp.OsdpCardReader(doorConfig.reader, doorLog, doorConfig.id, {
            language: config.site.language,
            readSecret: (ref) => readSecret(ref),
          })
        : doorConfig.reader.profile === 'wiegand' && wiegand
          ? new wiegand.WiegandCardReader(doorConfig.reader, doorLog, doorConfig.id)
          : new SerialCardReader(doorConfig.reader, doorLog, doorConfig.id));
    const runtime = new RuntimeDoor(
      doorConfig,
      policyFor(config, doorConfig),
      schedule,
      watcher,
      door,
      driver,
      reader,
      bus,
    );
    doors.push(runtime);

    bus.subscribe((event) => {
      if (event.type === 'mode' && event.door === doorConfig.id) {
        runtime.applyHold();
        door.refresh();
      }
    });
    reader.on('status', (status) => {
      if (status === 'offline') alarms.raise('reader_offline', doorConfig.id);
      else alarms.clear('reader_offline', doorConfig.id);
    });
    reader.on('alarm', (code, active, detail) => {
      if (active) alarms.raise(code, doorConfig.id, detail);
      else alarms.clear(code, doorConfig.id);
    });
    reader.on('rejected', ({ why }) => {
      metrics.readerRejected.inc({ door: doorConfig.id, why });
      bus.publish({ type: 'reader_rejected', reader: doorConfig.id, why, ts: new Date().toISOString() });
    });
    decideSwipesInOrder(runtime, reader, {
      gate,
      log: doorLog,
      observeDecision: (seconds) => metrics.decisionSeconds.observe({ door: doorConfig.id }, seconds),
      onSwipe: options.onSwipe,
      cpu: cpuClock,
    });
    door.start();
    watcher.start();
    runtime.applyHold();
    reader.start();
  }
  // Readers are open and relays locked: swipes are decided from here on.
  log.info({ doors: doors.length, readyMs: Math.round(performance.now()) }, 'door ready');
  // prom-client is loaded once the doors have been quiet for a second: the counts made meanwhile are replayed on it.
  let lastSwipeAt = performance.now();
  for (const door of doors) door.reader.on('swipe', () => (lastSwipeAt = performance.now()));
  const metricsLoad = loadWhenQuiet(
    () =>
      metrics
        .load()
        .catch((error: unknown) => log.error({ err: (error as Error).message }, 'metrics could not load')),
    { lastSwipeAt: () => lastSwipeAt, quietMs: options.metricsQuietMs ?? 1000 },
  );

  // MQTT after the doors: choosing the broker may wait on the network and mqtt.js is slow to load, and a
  // swipe never needs either (events published meanwhile wait in the link).
  let broker: BrokerChoice = { kind: 'external', url: config.mqtt.url, close: async () => undefined };
  let mqttOpen = false;
  try {
    broker = await chooseBroker(config.mqtt.url, config.mqtt.embedded_fallback, log.child({ mod: 'mqtt' }));
    await mqtt.open(broker.kind === 'embedded' ? 4 : (config.mqtt.protocol_version ?? 5));
    mqttOpen = true;
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    log.error({ mod: 'mqtt', err: message }, 'MQTT: failed to start; the door runs without it');
    alarms.raise('part_failed', 'mqtt', message.slice(0, 300));
  }
  const nvrPart = config.nvr.enabled && mqttOpen ? nvrControllerPart() : undefined;
  await nvrPart?.begin();
  /**
   * Camera retention is optional: an unusable key raises an alarm and leaves the doors running (a config
   * error, not retried); a controller that fails to start is retried with backoff under `part_failed`.
   */
  function nvrControllerPart(): OptionalPart<NvrController> | undefined {
    let keys: NvrKey[];
    try {
      keys = config.nvr.auth ? readNvrKeys(config.nvr.auth, (ref) => readSecret(ref)) : [];
      if (keys.length === 0) throw new Error('nvr.auth is missing');
    } catch (error) {
      log.error({ mod: 'nvr', err: (error as Error).message }, 'nvr: not started, no usable key');
      alarms.raise('nvr_unreachable', '', `not started: ${(error as Error).message}`);
      return undefined;
    }
    return new OptionalPart<NvrController>({
      name: 'nvr',
      alarms,
      log: log.child({ mod: 'nvr' }),
      start: async () => {
        // Imported only here: a site without camera retention never loads it (nor its message schemas).
        const { NvrController } = await import('./nvr/controller.ts');
        const controller = new NvrController({
          config: config.nvr,
          db,
          writes: storeWrites,
          mqtt: mqtt.client,
          alarms,
          log: log.child({ mod: 'nvr' }),
          keys,
          onRejected: (reason) => metrics.nvrRejected.inc({ reason }),
        });
        try {
          controller.start();
        } catch (error) {
          await controller.stop().catch(() => undefined);
          throw error;
        }
        return controller;
      },
      stop: (controller) => controller.stop(),
    });
  }
  const homeAssistantPart =
    config.homeassistant?.enabled && mqttOpen
      ? new OptionalPart<HomeAssistantBridge>({
          name: 'homeassistant',
          alarms,
          log,
          start: async () => {
            // Imported only here: a site without Home Assistant never loads it.
            const [{ HomeAssistantBridge }, { ALARM_LABELS }, { softwareVersion }] = await Promise.all([
              import('./homeassistant/bridge.ts'),
              import('./web/i18n.ts'),
              import('./ops/software-version.ts'),
            ]);
            const language = config.site.language;
            const bridge = new HomeAssistantBridge({
              config: config.homeassistant,
              db,
              writes: storeWrites,
              bus,
              log: log.child({ mod: 'homeassistant' }),
              baseTopic,
              site: { id: config.site.id, name: config.site.name, timezone: config.site.timezone },
              softwareVersion: softwareVersion(),
              doors,
              alarmName: (code) => ALARM_LABELS[code]?.[language] ?? code,
              onCommand: (door, outcome) => metrics.homeassistantCommands.inc({ door, outcome }),
              occupancy: config.occupancy?.enabled
                ? {
                    doors: new Set(config.occupancy.doors.map((d) => d.door)),
                    insideNow: () => occupancy?.current?.occupancy.insideNow() ?? null,
                  }
                : undefined,
            });
            bridge.start(mqtt.client);
            return bridge;
          },
          stop: async (bridge) => bridge.stop(),
        })
      : undefined;
  await homeAssistantPart?.begin();
  // Started after the watchers: their first modes are read here, later ones come on the bus.
  const frigatePart =
    config.nvr.frigate_recording.enabled && mqttOpen
      ? new OptionalPart<FrigateRecordingSchedule>({
          name: 'frigate_recording',
          alarms,
          log,
          start: async () => {
            const schedule = new FrigateRecordingSchedule({
              config: config.nvr.frigate_recording,
              mqtt: mqtt.client,
              bus,
              alarms,
              log,
              initialModes: doors.map((d) => [d.id, d.watcher.current()] as const),
            });
            try {
              schedule.start();
            } catch (error) {
              schedule.stop();
              throw error;
            }
            return schedule;
          },
          stop: async (schedule) => schedule.stop(),
        })
      : undefined;
  await frigatePart?.begin();
  const emergencyWatcher = new EmergencyWatcher({
    modes: emergency,
    bus,
    log: log.child({ mod: 'emergency' }),
  });
  emergencyWatcher.start();
  // Lights, alarm arming, panel, sound and announcements: optional, after the doors, never in their way.
  const statesDoor = config.states?.door ?? config.doors[0]!.id;
  states = config.states?.enabled
    ? new OptionalPart<StateEngine>({
        name: 'states',
        start: async () =>
          (await import('./states/start.ts')).startStates({
            config: config.states,
            language: config.site.language,
            schedule: schedules.schedule(statesDoor),
            bus,
            alarms,
            // GPIO outputs work without MQTT; MQTT outputs then fail this part alone, named in its alarm.
            mqtt: mqttOpen ? mqtt.client : undefined,
            log: log.child({ mod: 'states' }),
            // The admin's emergency mode (src/emergency) drives the emergency state.
            emergency: options.emergency ?? { current: (now) => emergency.current(now)?.mode ?? null },
            // The closing sweep holds the intruder alarm's arming while people are inside.
            holdBack: (output, value, state) =>
              occupancy?.current?.sweep?.holdsBack(output, value, state) ?? false,
          }),
        stop: async (engine) => engine.stop(),
        alarms,
        log,
      })
    : undefined;
  for (const door of doors) door.siteStatus = () => states?.current?.status();
  occupancy = config.occupancy?.enabled ? occupancyPart(config.occupancy) : undefined;
  // Not awaited: a GPIO line waits for its export, and the door is ready without it. The engine after the
  // occupancy part's first try, so a restart at night with people inside does not arm before the sweep is there.
  void (occupancy?.begin() ?? Promise.resolve()).then(() => states?.begin());
  /** Loaded only when configured (like the state engine): a site without a counter never loads it. */
  function occupancyPart(cfg: NonNullable<DorvaktConfig['occupancy']>): OptionalPart<RunningOccupancy> {
    const sweepOutput = cfg.closing_sweep.output;
    const armValue = outputsOf(config.states).find((o) => o.id === sweepOutput)?.values.closed?.value;
    return new OptionalPart<RunningOccupancy>({
      name: 'occupancy',
      start: async () =>
        (await import('./occupancy/start.ts')).startOccupancy({
          config: cfg,
          db,
          writes: storeWrites,
          bus,
          alarms,
          log: log.child({ mod: 'occupancy' }),
          site: config.site.id,
          baseTopic,
          timezone: config.site.timezone,
          modeOf: (door) => schedules.schedule(door).stateAt(new Date()),
          mqtt: mqttOpen ? mqtt.client : undefined,
          arm: sweepOutput && armValue !== undefined ? { output: sweepOutput, value: armValue } : undefined,
          rearm: () => states?.current?.evaluate(),
          webhookBearer: cfg.closing_sweep.webhook?.token
            ? readSecret(cfg.closing_sweep.webhook.token)
            : undefined,
          onRejected: (door, why) => metrics.counterRejected.inc({ door, why }),
        }),
      stop: async (running) => running.stop(),
      alarms,
      log,
    });
  }
  const readyAt = Date.now();

  const healthy = () => {
    const checks: Record<string, boolean> = {
      store: db.open && journal.open && !alarms.isActive('store_error'),
      doors: doors.every((d) => !d.door.state().relayFault),
      mqtt: mqtt.connected,
    };
    // MQTT being away degrades events, not the door: health is the door loop.
    return { ok: checks.store === true && checks.doors === true, checks };
  };

  return {
    config,
    db,
    bus,
    alarms,
    consents,
    hashCard,
    doors,
    gate,
    cardCheck,
    mqtt,
    broker,
    metrics,
    patrons,
    get nvr() {
      return nvrPart?.current;
    },
    get nvrAdmin() {
      const controller = nvrPart?.current;
      return controller && queuedNvrAdmin(controller, db, storeWrites);
    },
    storeWrites,
    get frigateRecording() {
      return frigatePart?.current;
    },
    emergency,
    emergencyWatcher,
    fleetRules,
    get homeassistant() {
      return homeAssistantPart?.current;
    },
    get states() {
      return states?.current;
    },
    get occupancy() {
      return occupancy?.current;
    },
    readyAt,
    healthy,
    async stop() {
      metricsLoad.stop();
      emergencyWatcher.stop();
      schedules.stop();
      await states?.end();
      await occupancy?.end();
      for (const door of doors) await door.close();
      cpuClock.close();
      await homeAssistantPart?.end();
      await frigatePart?.end();
      await nvrPart?.end();
      await mqtt.stop();
      await broker.close();
      await patrons.close?.();
      journalWatch.stop();
      await entries.stop();
      await entrySync?.settle();
      storeWrites.flush();
      journal.close();
      db.close();
    },
  };
}
