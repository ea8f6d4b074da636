/**
 * The occupancy part, as app.ts starts it (loaded only when `occupancy.enabled`): counters per door, the
 * nightly reset, tailgating with its optional camera bookmark, the motion input and the closing sweep.
 */
import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import type { ScheduleState } from '../contract/events.ts';
import { CONTRACT_VERSION } from '../contract/mqtt.ts';
import type { BookmarkPayload } from '../contract/occupancy.ts';
import { defaultLineOpener } from '../door/gpio-driver.ts';
import type { GpioLineIo, LineOpener } from '../door/gpio-line.ts';
import { resolveGpioLine } from '../door/gpio-resolve.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import type { DeferredWrites } from '../store/deferred-writes.ts';
import { BeamInput } from './beam-input.ts';
import type { Beam } from './beam-pair.ts';
import type { OccupancyConfig } from './config.ts';
import { type CounterRejectWhy, MqttCounters } from './mqtt-counter.ts';
import { OnCallNotifier } from './notify.ts';
import { Occupancy } from './occupancy.ts';
import { ClosingSweep } from './sweep.ts';

export { Occupancy } from './occupancy.ts';
export { ClosingSweep } from './sweep.ts';

export interface StartOccupancyOptions {
  config: OccupancyConfig;
  db: Db;
  /** The door process's queue of store writes (see Occupancy). */
  writes?: DeferredWrites | undefined;
  bus: EventBus;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
  site: string;
  baseTopic: string;
  timezone: string;
  modeOf: (door: string) => ScheduleState;
  mqtt?: MqttClient | undefined;
  /** The arm output and its `closed` value (from `states.outputs`), when the sweep has one. */
  arm?: { output: string; value: string } | undefined;
  /** Asks the state engine to evaluate again (the sweep cleared). */
  rearm?: (() => void) | undefined;
  /** The webhook's bearer token, read from its secret. */
  webhookBearer?: string | undefined;
  onRejected?: ((door: string, why: CounterRejectWhy) => void) | undefined;
  opener?: LineOpener | undefined;
  /** Told of every motion level read (tests wait on it instead of sleeping). */
  onMotion?: ((active: boolean) => void) | undefined;
  /** Told of every beam level read (tests and the bench wait on it instead of sleeping). */
  onEdge?: ((door: string, beam: Beam, blocked: boolean) => void) | undefined;
  now?: () => Date;
  /** How often "inside now" is checked for the nightly reset. */
  tickMs?: number;
  recheckMs?: number;
}

export interface RunningOccupancy {
  occupancy: Occupancy;
  sweep: ClosingSweep | undefined;
  beams: Map<string, BeamInput>;
  counters: MqttCounters | undefined;
  notifier: OnCallNotifier;
  motion: () => boolean;
  stop(): void;
}

/** A counter's own clock further off than this is not trusted for the hour a passage is filed under. */
const COUNTER_CLOCK_SLACK_MS = 3_600_000;

export async function startOccupancy(options: StartOccupancyOptions): Promise<RunningOccupancy> {
  const { config, log, bus, alarms } = options;
  const now = options.now ?? (() => new Date());
  const doors = config.doors.map((d) => d.door);
  const occupancy = new Occupancy({
    db: options.db,
    writes: options.writes,
    bus,
    alarms,
    log,
    timezone: options.timezone,
    doors,
    modeOf: options.modeOf,
    resetAt: config.reset_at,
    tailgating: config.tailgating.enabled,
    now,
    onTailgating: config.tailgating.bookmark && options.mqtt ? bookmark : undefined,
  });
  function bookmark(door: string, from: Date, at: Date): void {
    const payload: BookmarkPayload = {
      v: CONTRACT_VERSION,
      door,
      at: at.toISOString(),
      from: from.toISOString(),
      reason: 'tailgating',
      ts: now().toISOString(),
    };
    options.mqtt?.publish(`${options.baseTopic}/camera/bookmark`, JSON.stringify(payload), {
      qos: 1,
      retain: false,
    });
  }

  const beams = new Map<string, BeamInput>();
  const lines: GpioLineIo[] = [];
  const notifier = new OnCallNotifier({
    topic: config.closing_sweep.mqtt ? `${options.baseTopic}/oncall` : undefined,
    mqtt: options.mqtt,
    webhook: config.closing_sweep.webhook
      ? { ...config.closing_sweep.webhook, bearer: options.webhookBearer }
      : undefined,
    alarms,
    log,
  });
  let counters: MqttCounters | undefined;
  let sweep: ClosingSweep | undefined;
  let tick: NodeJS.Timeout | undefined;
  const stop = () => {
    clearInterval(tick);
    sweep?.stop();
    notifier.stop();
    counters?.stop();
    occupancy.stop();
    for (const beam of beams.values()) beam.close();
    for (const line of lines) {
      try {
        line.close();
      } catch {
        // the rest still closes
      }
    }
  };
  try {
    occupancy.start();
    const opener = options.opener ?? (await defaultLineOpener(config.sysfs_root, log));
    for (const door of config.doors) {
      if (!door.beams) continue;
      beams.set(
        door.door,
        await BeamInput.open({
          config: door.beams,
          sysfsRoot: config.sysfs_root,
          opener,
          now: () => now().getTime(),
          onEdge: options.onEdge ? (beam, blocked) => options.onEdge?.(door.door, beam, blocked) : undefined,
          onOutcome: (outcome) => {
            if (outcome.kind === 'passage')
              occupancy.passages(door.door, outcome.direction, 1, new Date(outcome.at));
            else log.debug({ door: door.door, why: outcome.why }, 'beam passage abandoned');
          },
        }),
      );
    }
    const topics = new Map<string, string>();
    for (const door of config.doors)
      if (door.mqtt) topics.set(door.mqtt.topic ?? `${options.baseTopic}/counter/${door.door}`, door.door);
    if (topics.size > 0) {
      if (!options.mqtt) throw new Error('a counter on MQTT needs the MQTT connection');
      counters = new MqttCounters({
        client: options.mqtt,
        topics,
        log,
        onPassages: (door, passagesIn, passagesOut, at) => {
          const t = now();
          const when = at && Math.abs(at.getTime() - t.getTime()) <= COUNTER_CLOCK_SLACK_MS ? at : t;
          occupancy.passages(door, 'in', passagesIn, when);
          occupancy.passages(door, 'out', passagesOut, when);
        },
        onRejected: (door, why) => options.onRejected?.(door, why),
      });
      counters.start();
    }
    let motion = () => false;
    if (config.motion) {
      const pin = config.motion;
      const io = await opener(resolveGpioLine(pin.pin, config.sysfs_root), { direction: 'in' });
      lines.push(io);
      // Motion lingers: it counts as active until it has been quiet for debounce_ms.
      let active = (io.read() === 1) !== pin.active_low;
      let quietSince = active ? Number.POSITIVE_INFINITY : 0;
      io.watch((level) => {
        active = (level === 1) !== pin.active_low;
        quietSince = active ? Number.POSITIVE_INFINITY : now().getTime();
        options.onMotion?.(active);
        if (!active) sweep?.recheck();
      });
      motion = () => active || now().getTime() - quietSince < pin.debounce_ms;
    }
    if (config.closing_sweep.enabled && options.arm) {
      sweep = new ClosingSweep({
        output: options.arm.output,
        armValue: options.arm.value,
        site: options.site,
        inside: () => occupancy.insideNow(),
        motion,
        alarms,
        log,
        notify: (payload) => notifier.notify(payload),
        rearm: () => options.rearm?.(),
        recheckMs: options.recheckMs ?? config.closing_sweep.recheck_seconds * 1000,
        now,
      });
      const running = sweep;
      occupancy.onChange(() => running.recheck());
    }
    tick = setInterval(() => occupancy.tick(), options.tickMs ?? 60_000);
    tick.unref();
    occupancy.tick();
    return { occupancy, sweep, beams, counters, notifier, motion, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
