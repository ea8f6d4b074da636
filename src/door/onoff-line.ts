import type { Gpio as OnoffGpio } from 'onoff';
import type { GpioLineIo, Level, LineDirection, LineOpener } from './gpio-line.ts';

/** onoff always works on this root; other roots go through FileLine. */
export const ONOFF_ROOT = '/sys/class/gpio';

/**
 * A line through onoff: inputs get epoll edge interrupts (edge 'both') instead of polling. The
 * kernel's active_low stays 0 and debounce stays off here: both happen above, the same for every driver.
 */
export class OnoffLine implements GpioLineIo {
  private constructor(
    private readonly line: OnoffGpio,
    readonly gpio: number,
  ) {}

  static async open(gpio: number, direction: LineDirection): Promise<OnoffLine> {
    const mod = (await import('onoff')) as unknown as {
      Gpio?: typeof OnoffGpio;
      default?: { Gpio: typeof OnoffGpio };
    };
    const Gpio = mod.Gpio ?? mod.default!.Gpio;
    const line =
      direction.direction === 'in'
        ? new Gpio(gpio, 'in', 'both', { activeLow: false })
        : // 'high'/'low' sets direction and first level in one write.
          new Gpio(gpio, direction.initial ? 'high' : 'low', undefined, { activeLow: false });
    return new OnoffLine(line, gpio);
  }

  read(): Level {
    return this.line.readSync();
  }

  write(level: Level): void {
    this.line.writeSync(level);
  }

  watch(listener: (level: Level) => void): void {
    let last = this.read();
    this.line.watch((err, value) => {
      if (err || value === last) return;
      last = value;
      listener(value);
    });
  }

  close(): void {
    this.line.unexport();
  }
}

export const onoffLineOpener: LineOpener = (gpio, direction) => OnoffLine.open(gpio, direction);
