import { afterEach, describe, expect, it } from 'vitest';
import { doorHardwareDefaults } from '../../src/door/config.ts';
import type { DoorDriver } from '../../src/door/driver.ts';
import { createGpioDriver } from '../../src/door/gpio-driver.ts';
import { FileLine, fileLineOpener } from '../../src/door/gpio-line.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeSysfs, PI5_KERNEL_6_6 } from './fake-sysfs.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function sysfs(): FakeSysfs {
  const dir = tempDir('dorvakt-sysfs-');
  const fake = new FakeSysfs(dir.path, PI5_KERNEL_6_6).startKernel();
  cleanups.push(dir.cleanup, () => fake.stopKernel());
  return fake;
}

describe('FileLine on a fake sysfs tree', () => {
  it('exports, waits for the kernel, sets direction with the first level, writes and reads', async () => {
    const fake = sysfs();
    const line = await FileLine.open(fake.root, 588, { direction: 'out', initial: 1 });
    expect(fake.exported).toEqual([588]);
    expect(fake.read(588, 'direction')).toBe('high');
    line.write(0);
    expect(fake.read(588, 'value')).toBe('0');
    expect(line.read()).toBe(0);
    line.write(1);
    expect(fake.read(588, 'value')).toBe('1');
    expect(line.read()).toBe(1);
    line.close();
    await waitFor(() => !fake.isExported(588), 2000, 'unexport');
    expect(fake.unexported).toEqual([588]);
  });

  it('an output opened at level 0 is set with direction "low"', async () => {
    const fake = sysfs();
    const line = await FileLine.open(fake.root, 590, { direction: 'out', initial: 0 });
    expect(fake.read(590, 'direction')).toBe('low');
    line.close();
  });

  it('takes over a line someone else exported and resets its kernel active_low to 0', async () => {
    const fake = sysfs();
    fake.createLine(600, { active_low: '1', direction: 'out', value: '1' });
    const line = await FileLine.open(fake.root, 600, { direction: 'in' });
    expect(fake.exported).toEqual([]);
    expect(fake.read(600, 'active_low')).toBe('0');
    expect(fake.read(600, 'direction')).toBe('in');
    expect(line.read()).toBe(1);
    line.close();
  });

  it('reports input changes by polling the value file', async () => {
    const fake = sysfs();
    const line = await FileLine.open(fake.root, 592, { direction: 'in' }, { pollMs: 5 });
    const seen: number[] = [];
    line.watch((level) => seen.push(level));
    fake.setLevel(592, 1);
    await waitFor(() => seen.length === 1, 2000, 'rising level');
    fake.setLevel(592, 0);
    await waitFor(() => seen.length === 2, 2000, 'falling level');
    expect(seen).toEqual([1, 0]);
    line.close();
  });

  it('fails clearly when the line never appears after export', async () => {
    const dir = tempDir('dorvakt-sysfs-');
    cleanups.push(dir.cleanup);
    const fake = new FakeSysfs(dir.path, PI5_KERNEL_6_6); // no kernel running
    await expect(
      FileLine.open(fake.root, 588, { direction: 'in' }, { exportTimeoutMs: 100 }),
    ).rejects.toThrow(/did not appear/);
  });
});

describe('gpio door driver', () => {
  async function driver(
    fake: FakeSysfs,
    overrides: Parameters<typeof doorHardwareDefaults>[0],
  ): Promise<DoorDriver> {
    const d = await createGpioDriver(
      doorHardwareDefaults({ driver: 'gpio', sysfs_root: fake.root, ...overrides }),
      {
        opener: fileLineOpener(fake.root, { pollMs: 5 }),
      },
    );
    cleanups.push(() => d.close());
    return d;
  }

  it('resolves pins by chip label and inverts an active-low relay, starting locked', async () => {
    const fake = sysfs();
    const d = await driver(fake, { relay: { pin: { chip: 'pinctrl-rp1', line: 17 }, active_low: true } });
    expect(fake.exported).toEqual([588]);
    // Locked = relay off = a high level on an active-low board, set together with the direction.
    expect(fake.read(588, 'direction')).toBe('high');
    expect(fake.read(588, 'active_low')).toBe('0');
    d.setRelay(true);
    expect(fake.read(588, 'value')).toBe('0');
    d.setRelay(false);
    expect(fake.read(588, 'value')).toBe('1');
  });

  it('an active-high relay starts low and goes high to unlock', async () => {
    const fake = sysfs();
    const d = await driver(fake, { relay: { pin: 589, active_low: false } });
    expect(fake.read(589, 'direction')).toBe('low');
    d.setRelay(true);
    expect(fake.read(589, 'value')).toBe('1');
  });

  it('reads and watches contact and fire inputs with their polarity', async () => {
    const fake = sysfs();
    const d = await driver(fake, {
      relay: { pin: 588, active_low: false },
      contact: { pin: { chip: 'pinctrl-rp1', line: 22 }, active_low: false, debounce_ms: 30 },
      fire: { pin: { chip: 'pinctrl-rp1', line: 23 }, active_low: true, debounce_ms: 30 },
    });
    expect(d.hasContact && d.hasFire).toBe(true);
    expect(fake.read(593, 'direction')).toBe('in');
    expect(d.readContact()).toBe(false);
    // Fire input active-low: level 0 = alarm.
    expect(d.readFire()).toBe(true);
    fake.setLevel(594, 1);
    expect(d.readFire()).toBe(false);

    const contact: boolean[] = [];
    const fire: boolean[] = [];
    d.onContact((open) => contact.push(open));
    d.onFire((active) => fire.push(active));
    fake.setLevel(593, 1);
    fake.setLevel(594, 0);
    await waitFor(() => contact.length === 1 && fire.length === 1, 2000, 'input changes');
    expect(contact).toEqual([true]);
    expect(fire).toEqual([true]);
  });

  it('drives the lights and ignores the ones not fitted', async () => {
    const fake = sysfs();
    const d = await driver(fake, {
      relay: { pin: 588, active_low: false },
      light_granted: { pin: 595, active_low: false },
    });
    d.setOutput('light_granted', true);
    expect(fake.read(595, 'value')).toBe('1');
    expect(() => d.setOutput('light_denied', true)).not.toThrow();
  });

  it('refuses a config without a relay, and closes what it opened when a later pin fails', async () => {
    const fake = sysfs();
    await expect(
      createGpioDriver(doorHardwareDefaults({ driver: 'gpio', sysfs_root: fake.root })),
    ).rejects.toThrow(/relay/);
    await expect(
      driver(fake, {
        relay: { pin: 588, active_low: false },
        contact: { pin: { chip: 'pinctrl-bcm2711', line: 4 }, active_low: false, debounce_ms: 30 },
      }),
    ).rejects.toThrow(/no GPIO chip labelled "pinctrl-bcm2711"/);
    await waitFor(() => fake.unexported.includes(588), 2000, 'relay unexported after failure');
  });
});
