import { resolve } from 'node:path';
import type { Logger } from '../log/logger.ts';
import type { DoorHardwareConfig, GpioPin } from './config.ts';
import type { DoorDriver, DoorOutput } from './driver.ts';
import { fileLineOpener, type GpioLineIo, type Level, type LineOpener } from './gpio-line.ts';
import { describeGpioLine, resolveGpioLine } from './gpio-resolve.ts';
import { ONOFF_ROOT, onoffLineOpener } from './onoff-line.ts';

export interface GpioDriverOptions {
  /** How lines are opened. Default: onoff on /sys/class/gpio, FileLine on any other root. */
  opener?: LineOpener;
  log?: Logger;
}

interface BoundLine {
  io: GpioLineIo;
  activeLow: boolean;
}

const toLevel = (logical: boolean, activeLow: boolean): Level => (logical !== activeLow ? 1 : 0);
const fromLevel = (level: Level, activeLow: boolean): boolean => (level === 1) !== activeLow;

/** Picks the line implementation for a sysfs root (see GpioLineIo). */
export async function defaultLineOpener(sysfsRoot: string, log?: Logger): Promise<LineOpener> {
  if (resolve(sysfsRoot) !== ONOFF_ROOT) return fileLineOpener(sysfsRoot);
  try {
    await import('onoff');
    return onoffLineOpener;
  } catch (error) {
    // onoff needs the native epoll addon; polling the files still works without it.
    log?.warn({ err: (error as Error).message }, 'onoff unavailable; GPIO inputs are polled');
    return fileLineOpener(sysfsRoot);
  }
}

/**
 * Opens the configured pins. The relay is opened first and at its locked level, so a restart never
 * unlocks the door, even for an instant. Throws (after closing what it opened) if any pin fails.
 */
export async function createGpioDriver(
  config: DoorHardwareConfig,
  options: GpioDriverOptions = {},
): Promise<DoorDriver> {
  if (!config.relay) throw new Error('door hardware: driver gpio needs a relay pin');
  const opener = options.opener ?? (await defaultLineOpener(config.sysfs_root, options.log));
  const opened: GpioLineIo[] = [];
  const open = async (
    name: string,
    pin: GpioPin | undefined,
    initialLogical: boolean | 'in',
  ): Promise<BoundLine | null> => {
    if (!pin) return null;
    const gpio = resolveGpioLine(pin.pin, config.sysfs_root);
    const io = await opener(
      gpio,
      initialLogical === 'in'
        ? { direction: 'in' }
        : { direction: 'out', initial: toLevel(initialLogical, pin.active_low) },
    );
    opened.push(io);
    options.log?.info(
      { pin: name, gpio: describeGpioLine(pin.pin, gpio), activeLow: pin.active_low },
      'GPIO line ready',
    );
    return { io, activeLow: pin.active_low };
  };
  try {
    const relay = (await open('relay', config.relay, false))!;
    const lines = {
      relay,
      contact: await open('contact', config.contact, 'in'),
      fire: await open('fire', config.fire, 'in'),
      light_granted: await open('light_granted', config.light_granted, false),
      light_denied: await open('light_denied', config.light_denied, false),
    };
    return new GpioDoorDriver(lines);
  } catch (error) {
    for (const io of opened) {
      try {
        io.close();
      } catch {
        // already failing; the first error is the one to report
      }
    }
    throw error;
  }
}

class GpioDoorDriver implements DoorDriver {
  readonly kind = 'gpio' as const;
  readonly hasContact: boolean;
  readonly hasFire: boolean;

  constructor(
    private readonly lines: {
      relay: BoundLine;
      contact: BoundLine | null;
      fire: BoundLine | null;
      light_granted: BoundLine | null;
      light_denied: BoundLine | null;
    },
  ) {
    this.hasContact = lines.contact !== null;
    this.hasFire = lines.fire !== null;
  }

  setRelay(unlocked: boolean): void {
    const { io, activeLow } = this.lines.relay;
    io.write(toLevel(unlocked, activeLow));
  }

  setOutput(name: DoorOutput, on: boolean): void {
    const line = this.lines[name];
    if (line) line.io.write(toLevel(on, line.activeLow));
  }

  readContact(): boolean {
    const line = this.lines.contact;
    return line ? fromLevel(line.io.read(), line.activeLow) : false;
  }

  readFire(): boolean {
    const line = this.lines.fire;
    return line ? fromLevel(line.io.read(), line.activeLow) : false;
  }

  onContact(listener: (open: boolean) => void): () => void {
    return this.watch(this.lines.contact, listener);
  }

  onFire(listener: (active: boolean) => void): () => void {
    return this.watch(this.lines.fire, listener);
  }

  private watch(line: BoundLine | null, listener: (value: boolean) => void): () => void {
    if (!line) return () => {};
    let active = true;
    line.io.watch((level) => {
      if (active) listener(fromLevel(level, line.activeLow));
    });
    return () => {
      active = false;
    };
  }

  close(): void {
    for (const line of Object.values(this.lines)) {
      try {
        line?.io.close();
      } catch {
        // closing the rest matters more
      }
    }
  }
}
