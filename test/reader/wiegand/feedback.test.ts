/** Wiegand feedback: the reader's LED and beeper inputs as GPIO outputs, patterns per outcome class. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/contract/reasons.ts';
import { fileLineOpener, type GpioLineIo, type Level } from '../../../src/door/gpio-line.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { feedbackSteps, WiegandFeedback } from '../../../src/reader/wiegand/feedback.ts';
import { FakeSysfs, PI4_KERNEL_6_6 } from '../../door/fake-sysfs.ts';
import { waitFor } from '../../helpers/ports.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { wiegandReaderConfig } from './fixture.ts';

const defaults = wiegandReaderConfig('gpiomon').wiegand!.feedback;
const granted: Decision = { allow: true, reason: 'allow' };
const denied: Decision = { allow: false, reason: 'fines' };
const unavailable: Decision = { allow: false, reason: 'ils_unavailable' };

describe('feedback patterns on GPIO lines', () => {
  it('the default classes differ: green steady + one beep, red + two long beeps, amber blinking + four quick beeps', () => {
    const summary = (d: typeof defaults.granted) => {
      const steps = feedbackSteps(d);
      const on = (o: string) => steps.filter((s) => s.output === o && s.on).length;
      return { green: on('led_green'), red: on('led_red'), beeps: on('beeper') };
    };
    expect(summary(defaults.granted)).toEqual({ green: 1, red: 0, beeps: 1 });
    expect(summary(defaults.denied)).toEqual({ green: 0, red: 1, beeps: 2 });
    // Amber is both LEDs, blinking 300/300 for 4 s: 7 flashes.
    expect(summary(defaults.unavailable)).toEqual({ green: 7, red: 7, beeps: 4 });
  });

  it('every output ends off, and the denied beeps are 500 ms with 200 ms between', () => {
    for (const pattern of Object.values(defaults)) {
      const steps = feedbackSteps(pattern);
      for (const output of ['led_green', 'led_red', 'beeper'])
        expect(steps.filter((s) => s.output === output).at(-1)?.on ?? false).toBe(false);
    }
    expect(feedbackSteps(defaults.denied).filter((s) => s.output === 'beeper')).toEqual([
      { atMs: 0, output: 'beeper', on: true },
      { atMs: 500, output: 'beeper', on: false },
      { atMs: 700, output: 'beeper', on: true },
      { atMs: 1200, output: 'beeper', on: false },
    ]);
  });
});

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('WiegandFeedback on sysfs lines', () => {
  it('drives the lines at their active level, a newer decision replaces the running pattern', async () => {
    const dir = tempDir('wfb-');
    const sysfs = new FakeSysfs(dir.path, PI4_KERNEL_6_6).startKernel();
    cleanups.push(
      () => dir.cleanup(),
      () => sysfs.stopKernel(),
    );
    const open = fileLineOpener(dir.path);
    const writes: [string, Level][] = [];
    const track = (name: string, io: GpioLineIo): GpioLineIo => ({
      ...io,
      gpio: io.gpio,
      read: () => io.read(),
      watch: (l) => io.watch(l),
      close: () => io.close(),
      write: (level) => {
        writes.push([name, level]);
        io.write(level);
      },
    });
    const green = track('green', await open(534, { direction: 'out', initial: 1 }));
    const beeper = track('beeper', await open(535, { direction: 'out', initial: 0 }));
    const long = { ...defaults.granted, led: { ...defaults.granted.led, duration_ms: 60000 } };
    const feedback = new WiegandFeedback(
      { led_green: { io: green, activeLow: true }, beeper: { io: beeper, activeLow: false } },
      { ...defaults, granted: long },
      createLogger('silent'),
      'front',
    );
    cleanups.push(() => feedback.close());
    expect(sysfs.read(534, 'value')).toBe('1'); // active-low green: off is high
    feedback.show(granted);
    expect(sysfs.read(534, 'value')).toBe('0');
    expect(sysfs.read(535, 'value')).toBe('1');
    await waitFor(() => sysfs.read(535, 'value') === '0', 5000, 'beep ends');
    expect(sysfs.read(534, 'value')).toBe('0'); // still green: 60 s
    writes.length = 0;
    feedback.show(denied);
    // Green off at once (denied has no green), the beeper starts its two beeps.
    expect(sysfs.read(534, 'value')).toBe('1');
    await waitFor(() => writes.filter(([n, l]) => n === 'beeper' && l === 1).length === 2, 5000, 'two beeps');
    feedback.show(unavailable);
    feedback.close();
    expect(sysfs.read(534, 'value')).toBe('1');
    expect(sysfs.read(535, 'value')).toBe('0');
  });
});
