/**
 * Where a state output goes: a GPIO line (through the door's GPIO line layer) or a retained MQTT topic.
 * `set` never waits: a GPIO write is one synchronous sysfs write, an MQTT publish is handed to the client.
 */
import type { MqttClient } from 'mqtt';
import type { GpioPin } from '../door/config.ts';
import { defaultLineOpener } from '../door/gpio-driver.ts';
import type { GpioLineIo, LineOpener } from '../door/gpio-line.ts';
import { describeGpioLine, resolveGpioLine } from '../door/gpio-resolve.ts';
import type { OutputConfig } from './config.ts';

export interface OutputSink {
  readonly id: string;
  /** What it writes to, for logs (`gpio17`, `mqtt building/lights`). */
  readonly target: string;
  /** Throws when the write fails at once; `onFailed` hears of a failure found later (MQTT). */
  set(value: string, onFailed: (error: Error) => void): void;
  close(): void;
}

export class GpioOutput implements OutputSink {
  private constructor(
    readonly id: string,
    readonly target: string,
    private readonly io: GpioLineIo,
    private readonly activeLow: boolean,
  ) {}

  /** Opens the line as an output at `initial` (logical), so a restart does not blink it. */
  static async open(
    id: string,
    pin: GpioPin,
    sysfsRoot: string,
    initial: boolean,
    opener?: LineOpener,
  ): Promise<GpioOutput> {
    const gpio = resolveGpioLine(pin.pin, sysfsRoot);
    const open = opener ?? (await defaultLineOpener(sysfsRoot));
    const io = await open(gpio, { direction: 'out', initial: initial !== pin.active_low ? 1 : 0 });
    return new GpioOutput(id, describeGpioLine(pin.pin, gpio), io, pin.active_low);
  }

  set(value: string): void {
    if (value !== 'on' && value !== 'off') throw new Error(`a gpio output is on or off, not "${value}"`);
    this.io.write((value === 'on') !== this.activeLow ? 1 : 0);
  }

  close(): void {
    this.io.close();
  }
}

export class MqttOutput implements OutputSink {
  readonly target: string;

  constructor(
    readonly id: string,
    private readonly topic: string,
    private readonly client: MqttClient,
  ) {
    this.target = `mqtt ${topic}`;
  }

  /** Retained, so the building's control system gets the value when it (re)subscribes. */
  set(value: string, onFailed: (error: Error) => void): void {
    this.client.publish(this.topic, value, { qos: 1, retain: true }, (error) => {
      if (error) onFailed(error);
    });
  }

  close(): void {}
}

export interface SinkDeps {
  sysfsRoot: string;
  /** The controller's MQTT client; none: MQTT outputs fail (and say so). */
  mqtt?: MqttClient | undefined;
  /** How GPIO lines are opened (tests: a fake sysfs tree or a failing line). */
  opener?: LineOpener | undefined;
}

/** Opens one configured output. */
export async function openSink(
  output: OutputConfig,
  initial: string | undefined,
  deps: SinkDeps,
): Promise<OutputSink> {
  if (output.gpio)
    return GpioOutput.open(output.id, output.gpio, deps.sysfsRoot, initial === 'on', deps.opener);
  if (output.mqtt) {
    if (!deps.mqtt) throw new Error('no MQTT connection');
    return new MqttOutput(output.id, output.mqtt.topic, deps.mqtt);
  }
  throw new Error('neither gpio nor mqtt');
}
