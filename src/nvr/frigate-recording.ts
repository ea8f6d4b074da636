/**
 * Record only when needed: turns Frigate's per-camera recording on in the schedule modes listed in
 * `record_in` (default staffless) and off otherwise, over Frigate's own MQTT topics, and raises
 * `recording_mismatch` when Frigate's state disagrees for longer than a grace period.
 * Facts about Frigate's topics per version: docs/recorders/frigate-recording-schedule.md.
 */
import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import type { DorvaktEvent, ScheduleState } from '../contract/events.ts';
import { CAMERA_NAME_PATTERN } from '../contract/nvr.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';

export interface FrigateRecordingConfig {
  enabled: boolean;
  /** Frigate's `mqtt.topic_prefix`. */
  topic_prefix: string;
  /** Frigate camera names (as in Frigate's config). */
  cameras: string[];
  /** Schedule modes in which the cameras record. */
  record_in: ScheduleState[];
  /** Doors whose schedule counts; empty means every door. Recording is on when any of them is in `record_in`. */
  doors: string[];
  /** How long Frigate's state may disagree with what was asked before `recording_mismatch` is raised. */
  grace_seconds: number;
}

export const frigateRecordingSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enabled: { type: 'boolean', default: false },
    topic_prefix: { type: 'string', pattern: '^[^#+/]([^#+]*[^#+/])?$', default: 'frigate' },
    cameras: {
      type: 'array',
      items: { type: 'string', pattern: CAMERA_NAME_PATTERN },
      uniqueItems: true,
      maxItems: 64,
      default: [],
    },
    record_in: {
      type: 'array',
      items: { type: 'string', enum: ['staffed', 'staffless', 'closed'] },
      uniqueItems: true,
      default: ['staffless'],
    },
    doors: { type: 'array', items: { type: 'string' }, uniqueItems: true, default: [] },
    grace_seconds: { type: 'integer', minimum: 5, maximum: 3600, default: 60 },
  },
} as const;

export function frigateRecordingDefaults(
  partial: Partial<FrigateRecordingConfig> = {},
): FrigateRecordingConfig {
  return {
    enabled: false,
    topic_prefix: 'frigate',
    cameras: [],
    record_in: ['staffless'],
    doors: [],
    grace_seconds: 60,
    ...partial,
  };
}

/** Rules the schema cannot say (key relative to `nvr.frigate_recording`). */
export function checkFrigateRecordingConfig(
  cfg: FrigateRecordingConfig,
  doorIds: string[],
): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  if (cfg.enabled && cfg.cameras.length === 0) {
    problems.push({
      key: 'cameras',
      message: 'name at least one Frigate camera (there is no "every camera")',
    });
  }
  cfg.doors.forEach((door, i) => {
    if (!doorIds.includes(door)) problems.push({ key: `doors.${i}`, message: `no door "${door}"` });
  });
  return problems;
}

type OnOff = 'ON' | 'OFF';

export interface FrigateRecordingDeps {
  config: FrigateRecordingConfig;
  /** The controller's client (MqttLink.client); it reconnects on its own with a clean session. */
  mqtt: MqttClient;
  bus: EventBus;
  alarms: Alarms;
  log: Logger;
  /** Door modes at start; later changes come as `mode` events on the bus. */
  initialModes?: Iterable<[string, ScheduleState]>;
}

export interface FrigateRecordingStatus {
  desired: OnOff | null;
  frigate: 'online' | 'offline' | 'unknown';
  cameras: { name: string; state: OnOff | null; mismatch: boolean }[];
}

/** Alarm scope of one camera; kept apart from door ids so a camera named like a door does not mix. */
export const cameraScope = (camera: string): string => `camera:${camera}`;

export class FrigateRecordingSchedule {
  private readonly config: FrigateRecordingConfig;
  private readonly mqtt: MqttClient;
  private readonly alarms: Alarms;
  private readonly log: Logger;
  private readonly bus: EventBus;
  private readonly modes = new Map<string, ScheduleState>();
  private readonly states = new Map<string, OnOff>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly availableTopic: string;
  private readonly stateTopics = new Map<string, string>();
  private desired: OnOff | null = null;
  private frigate: 'online' | 'offline' | 'unknown' = 'unknown';
  private unsubscribe: (() => void) | undefined;
  private running = false;

  constructor(deps: FrigateRecordingDeps) {
    this.config = deps.config;
    this.mqtt = deps.mqtt;
    this.alarms = deps.alarms;
    this.bus = deps.bus;
    this.log = deps.log.child({ mod: 'frigate-recording' });
    for (const [door, mode] of deps.initialModes ?? []) this.modes.set(door, mode);
    const prefix = this.config.topic_prefix;
    this.availableTopic = `${prefix}/available`;
    for (const camera of this.config.cameras)
      this.stateTopics.set(`${prefix}/${camera}/recordings/state`, camera);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Alarms restored from the store for cameras no longer configured would never clear.
    for (const alarm of this.alarms.list()) {
      if (alarm.code !== 'recording_mismatch' || !alarm.door.startsWith('camera:')) continue;
      if (!this.config.cameras.includes(alarm.door.slice('camera:'.length)))
        this.alarms.clear('recording_mismatch', alarm.door);
    }
    this.unsubscribe = this.bus.subscribe(this.onEvent);
    this.mqtt.on('connect', this.onConnect);
    this.mqtt.on('message', this.onMessage);
    this.desired = this.want();
    this.log.info(
      { desired: this.desired, cameras: this.config.cameras },
      'frigate recording schedule started',
    );
    if (this.mqtt.connected) this.onConnect();
    this.checkAll();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.mqtt.off('connect', this.onConnect);
    this.mqtt.off('message', this.onMessage);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    // Fire and forget: stopping never waits on the network.
    if (this.mqtt.connected) this.mqtt.unsubscribe(this.topics(), () => undefined);
  }

  status(): FrigateRecordingStatus {
    return {
      desired: this.desired,
      frigate: this.frigate,
      cameras: this.config.cameras.map((name) => ({
        name,
        state: this.states.get(name) ?? null,
        mismatch: this.alarms.isActive('recording_mismatch', cameraScope(name)),
      })),
    };
  }

  /** ON when any counted door is in a `record_in` mode; OFF otherwise, and OFF with no door known. */
  private want(): OnOff {
    for (const [door, mode] of this.modes) {
      if (this.config.doors.length > 0 && !this.config.doors.includes(door)) continue;
      if (this.config.record_in.includes(mode)) return 'ON';
    }
    return 'OFF';
  }

  private topics(): string[] {
    return [this.availableTopic, ...this.stateTopics.keys()];
  }

  // Runs inside the bus publish (the watcher's evaluation): never throws, never waits.
  private readonly onEvent = (event: DorvaktEvent): void => {
    if (event.type !== 'mode') return;
    try {
      this.modes.set(event.door, event.mode);
      const next = this.want();
      if (next === this.desired) return;
      this.log.info(
        { from: this.desired, to: next, door: event.door, mode: event.mode },
        'recording follows the schedule',
      );
      this.desired = next;
      // A new ask: Frigate gets a fresh grace period.
      for (const timer of this.timers.values()) clearTimeout(timer);
      this.timers.clear();
      this.publishAll('schedule');
      this.checkAll();
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'frigate recording: mode change failed');
    }
  };

  /** A clean session forgets subscriptions, and a restarted broker forgets retained state: both again. */
  private readonly onConnect = (): void => {
    try {
      this.mqtt.subscribe(this.topics(), { qos: 1 }, (err) => {
        if (err) this.log.error({ err: err.message }, 'frigate recording: subscribe failed');
        if (!this.running) return;
        this.publishAll('connect');
      });
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'frigate recording: subscribe failed');
    }
  };

  private readonly onMessage = (topic: string, payload: Buffer): void => {
    try {
      if (topic === this.availableTopic) {
        const text = payload.toString();
        if (text !== 'online' && text !== 'offline') return;
        const was = this.frigate;
        this.frigate = text;
        // Every `online`, not only after `offline`: a Frigate that restarts within the broker's keepalive
        // may take over its session without a will being published. Up to 0.17 a restart resets the toggle.
        if (text === 'online') {
          this.log.info('Frigate online: publishing the recording state again');
          this.publishAll('frigate online');
        } else if (was !== 'offline') this.log.warn('Frigate offline');
        this.checkAll();
        return;
      }
      const camera = this.stateTopics.get(topic);
      if (camera === undefined) return;
      const text = payload.toString();
      if (text !== 'ON' && text !== 'OFF') {
        this.log.warn({ camera, payload: text.slice(0, 16) }, 'frigate recording: unexpected state payload');
        return;
      }
      this.states.set(camera, text);
      this.check(camera);
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'frigate recording: message failed');
    }
  };

  private publishAll(why: string): void {
    const desired = this.desired;
    // While disconnected nothing is queued: the connect handler publishes the state wanted then.
    if (!desired || !this.mqtt.connected) return;
    for (const camera of this.config.cameras) {
      // Never retained: a retained command would be applied by Frigate long after Dørvakt stopped asking.
      this.mqtt.publish(
        `${this.config.topic_prefix}/${camera}/recordings/set`,
        desired,
        { qos: 1 },
        (err) => {
          if (err) this.log.warn({ camera, err: err.message }, 'frigate recording: publish failed');
        },
      );
    }
    this.log.debug({ desired, why }, 'frigate recording state published');
  }

  private checkAll(): void {
    for (const camera of this.config.cameras) this.check(camera);
  }

  /** What Frigate is doing as far as we know: an offline Frigate records nothing. */
  private observed(camera: string): OnOff | null {
    if (this.frigate === 'offline') return 'OFF';
    return this.states.get(camera) ?? null;
  }

  private check(camera: string): void {
    const desired = this.desired;
    if (!desired) return;
    if (this.observed(camera) === desired) {
      const timer = this.timers.get(camera);
      if (timer) clearTimeout(timer);
      this.timers.delete(camera);
      this.alarms.clear('recording_mismatch', cameraScope(camera));
      return;
    }
    if (this.timers.has(camera) || this.alarms.isActive('recording_mismatch', cameraScope(camera))) return;
    const timer = setTimeout(() => {
      this.timers.delete(camera);
      try {
        if (!this.running || this.observed(camera) === this.desired) return;
        this.alarms.raise('recording_mismatch', cameraScope(camera), this.detail(camera));
      } catch (error) {
        this.log.error({ err: (error as Error).message }, 'frigate recording: check failed');
      }
    }, this.config.grace_seconds * 1000);
    timer.unref();
    this.timers.set(camera, timer);
  }

  private detail(camera: string): string {
    const modes = [...new Set(this.countedModes())].join('/') || 'no schedule';
    const seen =
      this.frigate === 'offline'
        ? 'Frigate is offline'
        : this.states.has(camera)
          ? `Frigate says ${this.states.get(camera)}`
          : 'no state from Frigate';
    return this.desired === 'ON'
      ? `camera ${camera} not recording in ${modes} hours (asked ON, ${seen}): safety`
      : `camera ${camera} may be recording in ${modes} hours (asked OFF, ${seen}): privacy`;
  }

  private countedModes(): ScheduleState[] {
    const out: ScheduleState[] = [];
    for (const [door, mode] of this.modes)
      if (this.config.doors.length === 0 || this.config.doors.includes(door)) out.push(mode);
    return out;
  }
}
