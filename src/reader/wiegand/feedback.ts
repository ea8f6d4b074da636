/**
 * Feedback on a Wiegand reader's LED and beeper inputs, driven as GPIO outputs: the same patterns per
 * outcome class as an OSDP reader (osdp/feedback.ts decides the class). Most readers have one LED
 * input that turns the LED from red to green and one beeper input; some have a second for red.
 * Writes are short and synchronous and never throw into the door: a failed line only logs.
 */
import type { Decision } from '../../contract/reasons.ts';
import type { GpioLineIo, Level } from '../../door/gpio-line.ts';
import type { Logger } from '../../log/logger.ts';
import type { FeedbackClass, FeedbackPattern } from '../osdp/config.ts';
import { feedbackClass } from '../osdp/feedback.ts';
import type { LedColor } from '../osdp/messages.ts';

export type FeedbackOutput = 'led_green' | 'led_red' | 'beeper';

/** Which LED inputs a colour drives (amber and white light both where the reader has both). */
const COLOUR_LINES: Record<LedColor, FeedbackOutput[]> = {
  off: [],
  red: ['led_red'],
  green: ['led_green'],
  amber: ['led_green', 'led_red'],
  blue: [],
  magenta: ['led_red'],
  cyan: ['led_green'],
  white: ['led_green', 'led_red'],
};

export interface Step {
  atMs: number;
  output: FeedbackOutput;
  on: boolean;
}

/** The pattern as switch points in time, each output ending off. */
export function feedbackSteps(pattern: FeedbackPattern): Step[] {
  const steps: Step[] = [];
  const led = pattern.led;
  for (const output of COLOUR_LINES[led.color]) {
    if (led.off_ms === 0) {
      steps.push({ atMs: 0, output, on: true }, { atMs: led.duration_ms, output, on: false });
      continue;
    }
    for (let t = 0; t < led.duration_ms; t += led.on_ms + led.off_ms) {
      steps.push({ atMs: t, output, on: true });
      steps.push({ atMs: Math.min(t + led.on_ms, led.duration_ms), output, on: false });
    }
  }
  const beep = pattern.buzzer;
  for (let i = 0; i < beep.count; i++) {
    const t = i * (beep.on_ms + beep.off_ms);
    steps.push(
      { atMs: t, output: 'beeper', on: true },
      { atMs: t + beep.on_ms, output: 'beeper', on: false },
    );
  }
  return steps.sort((a, b) => a.atMs - b.atMs || Number(a.on) - Number(b.on));
}

export interface OutputLine {
  io: GpioLineIo;
  activeLow: boolean;
}

export class WiegandFeedback {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly lines: Partial<Record<FeedbackOutput, OutputLine>>,
    private readonly patterns: Record<FeedbackClass, FeedbackPattern>,
    private readonly log: Logger,
    private readonly reader: string,
  ) {
    for (const output of Object.keys(lines) as FeedbackOutput[]) this.set(output, false);
  }

  /** Starts the pattern for this decision, in place of one still showing. */
  show(decision: Decision): void {
    this.cancel();
    for (const step of feedbackSteps(this.patterns[feedbackClass(decision)])) {
      if (!this.lines[step.output]) continue;
      if (step.atMs === 0) {
        this.set(step.output, step.on);
        continue;
      }
      const timer = setTimeout(() => this.set(step.output, step.on), step.atMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** Stops any pattern and leaves every output off. */
  close(): void {
    this.cancel();
    for (const [output, line] of Object.entries(this.lines) as [FeedbackOutput, OutputLine][]) {
      this.set(output, false);
      line.io.close();
    }
  }

  private cancel(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    for (const output of Object.keys(this.lines) as FeedbackOutput[]) this.set(output, false);
  }

  private set(output: FeedbackOutput, on: boolean): void {
    const line = this.lines[output];
    if (!line) return;
    const level: Level = on !== line.activeLow ? 1 : 0;
    try {
      line.io.write(level);
    } catch (error) {
      this.log.warn(
        { reader: this.reader, output, err: (error as Error).message },
        'wiegand feedback line not set',
      );
    }
  }
}
