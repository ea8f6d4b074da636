/**
 * A beam pair on two GPIO inputs, read through the door's GPIO line layer (edge interrupts with onoff on the
 * real tree, polled files elsewhere). Logical 1 (after `active_low`) means the beam is broken.
 */
import { defaultLineOpener } from '../door/gpio-driver.ts';
import type { GpioLineIo, Level, LineOpener } from '../door/gpio-line.ts';
import { resolveGpioLine } from '../door/gpio-resolve.ts';
import { type Beam, type BeamOutcome, BeamPair } from './beam-pair.ts';
import type { BeamPairConfig } from './config.ts';

export interface BeamInputOptions {
  config: BeamPairConfig;
  sysfsRoot: string;
  opener?: LineOpener | undefined;
  now: () => number;
  onOutcome: (outcome: BeamOutcome) => void;
  /** Told of every level read (tests and the bench wait on it instead of sleeping). */
  onEdge?: ((beam: Beam, blocked: boolean) => void) | undefined;
}

/** How often chatter is settled and an abandoned half-passage let go, at most. */
const SETTLE_MS = 50;

export class BeamInput {
  private readonly pair: BeamPair;
  private readonly lines: GpioLineIo[] = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: BeamInputOptions) {
    this.pair = new BeamPair(options.config.debounce_ms, options.config.timeout_ms);
  }

  static async open(options: BeamInputOptions): Promise<BeamInput> {
    const input = new BeamInput(options);
    const open = options.opener ?? (await defaultLineOpener(options.sysfsRoot));
    try {
      for (const beam of ['outside', 'inside'] as const) {
        const pin = options.config[beam];
        const io = await open(resolveGpioLine(pin.pin, options.sysfsRoot), { direction: 'in' });
        input.lines.push(io);
        const logical = (level: Level) => (level === 1) !== pin.active_low;
        input.feed(beam, logical(io.read()));
        io.watch((level) => input.feed(beam, logical(level)));
      }
    } catch (error) {
      input.close();
      throw error;
    }
    input.timer = setInterval(
      () => input.settle(),
      Math.max(10, Math.min(SETTLE_MS, options.config.debounce_ms || SETTLE_MS)),
    );
    input.timer.unref();
    return input;
  }

  /** Settles chatter and timeouts now (the timer does it on its own; tests with an injected clock call it). */
  settle(): void {
    for (const outcome of this.pair.settle(this.options.now())) this.options.onOutcome(outcome);
  }

  private feed(beam: Beam, blocked: boolean): void {
    for (const outcome of this.pair.edge(beam, blocked, this.options.now())) this.options.onOutcome(outcome);
    this.options.onEdge?.(beam, blocked);
  }

  close(): void {
    clearInterval(this.timer);
    for (const line of this.lines.splice(0)) {
      try {
        line.close();
      } catch {
        // the other line still needs closing
      }
    }
  }
}
