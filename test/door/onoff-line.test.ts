import { afterEach, describe, expect, it, vi } from 'vitest';
import { doorHardwareDefaults } from '../../src/door/config.ts';
import { createGpioDriver } from '../../src/door/gpio-driver.ts';
import { OnoffLine } from '../../src/door/onoff-line.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeGpioKernel } from './onoff-fake-kernel.ts';

/**
 * The production GPIO path (OnoffLine, and the door driver on /sys/class/gpio) through onoff's own code;
 * only its sysfs root and its epoll addon are the fake kernel's (see onoff-fake-kernel.ts for why).
 */
const state = vi.hoisted(() => ({ kernel: null as null | { loadOnoff(): unknown } }));
vi.mock('onoff', () => ({
  Gpio: function Gpio(...args: unknown[]) {
    const onoff = state.kernel!.loadOnoff() as { Gpio: new (...a: unknown[]) => unknown };
    return new onoff.Gpio(...args);
  },
}));

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function kernel(): FakeGpioKernel {
  const dir = tempDir('dorvakt-onoff-');
  const k = new FakeGpioKernel(dir.path);
  state.kernel = k;
  cleanups.push(dir.cleanup, () => {
    state.kernel = null;
  });
  return k;
}

describe('OnoffLine through onoff on a fake kernel', () => {
  it('an output is exported with its first level in the direction write, kernel active_low 0', async () => {
    const k = kernel();
    const line = await OnoffLine.open(588, { direction: 'out', initial: 1 });
    expect(k.exported).toEqual([588]);
    // One write sets direction and level: the line is never an output at the wrong level.
    expect(k.directionWrites).toEqual([[588, 'high']]);
    expect(k.sysfs.read(588, 'direction')).toBe('out');
    expect(k.sysfs.read(588, 'active_low')).toBe('0');
    expect(k.sysfs.read(588, 'value')).toBe('1');
    line.write(0);
    expect(k.sysfs.read(588, 'value')).toBe('0');
    expect(line.read()).toBe(0);
    line.write(1);
    expect(line.read()).toBe(1);
    line.close();
    expect(k.unexported).toEqual([588]);
    expect(k.sysfs.isExported(588)).toBe(false);
  });

  it('an output opened at level 0 is set with direction "low"', async () => {
    const k = kernel();
    const line = await OnoffLine.open(590, { direction: 'out', initial: 0 });
    expect(k.directionWrites).toEqual([[590, 'low']]);
    expect(k.sysfs.read(590, 'value')).toBe('0');
    line.close();
  });

  it('an input watches both edges and reports each change once', async () => {
    const k = kernel();
    const line = await OnoffLine.open(592, { direction: 'in' });
    expect(k.sysfs.read(592, 'direction')).toBe('in');
    expect(k.sysfs.read(592, 'edge')).toBe('both');
    const seen: number[] = [];
    line.watch((level) => seen.push(level));
    k.setLevel(592, 1);
    await waitFor(() => seen.length === 1, 2000, 'rising edge');
    k.setLevel(592, 0);
    await waitFor(() => seen.length === 2, 2000, 'falling edge');
    k.setLevel(592, 1);
    await waitFor(() => seen.length === 3, 2000, 'rising edge again');
    expect(seen).toEqual([1, 0, 1]);
    line.close();
    expect(k.unexported).toEqual([592]);
  });

  it('an interrupt with no change in level (a glitch) is not reported', async () => {
    const k = kernel();
    const line = await OnoffLine.open(594, { direction: 'in' });
    const seen: number[] = [];
    line.watch((level) => seen.push(level));
    k.glitch(594);
    k.setLevel(594, 1);
    await waitFor(() => seen.length === 1, 2000, 'rising edge');
    k.glitch(594);
    k.setLevel(594, 0);
    await waitFor(() => seen.length === 2, 2000, 'falling edge');
    expect(seen).toEqual([1, 0]);
    line.close();
  });

  it('takes over a line exported by someone else and resets its kernel active_low', async () => {
    const k = kernel();
    k.sysfs.createLine(600, { active_low: '1', direction: 'out', value: '1' });
    const line = await OnoffLine.open(600, { direction: 'in' });
    expect(k.exported).toEqual([]);
    expect(k.sysfs.read(600, 'active_low')).toBe('0');
    expect(k.sysfs.read(600, 'direction')).toBe('in');
    expect(line.read()).toBe(1);
    line.close();
  });
});

describe('the gpio door driver on /sys/class/gpio (the onoff path)', () => {
  it('starts locked, pulses an active-low relay, and sees the contact through epoll', async () => {
    const k = kernel();
    const d = await createGpioDriver(
      doorHardwareDefaults({
        driver: 'gpio',
        relay: { pin: 588, active_low: true },
        contact: { pin: 593, active_low: false, debounce_ms: 20 },
      }),
    );
    cleanups.push(() => d.close());
    // Locked = relay off = high on an active-low board, set together with the direction.
    expect(k.directionWrites[0]).toEqual([588, 'high']);
    expect(k.sysfs.read(588, 'value')).toBe('1');
    d.setRelay(true);
    expect(k.sysfs.read(588, 'value')).toBe('0');
    d.setRelay(false);
    expect(k.sysfs.read(588, 'value')).toBe('1');
    const contact: boolean[] = [];
    d.onContact((open) => contact.push(open));
    k.setLevel(593, 1);
    await waitFor(() => contact.length === 1, 2000, 'door opened');
    expect(contact).toEqual([true]);
    expect(d.readContact()).toBe(true);
  });
});
