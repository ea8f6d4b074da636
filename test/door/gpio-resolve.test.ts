import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { GpioResolveError, listGpioChips, resolveGpioLine } from '../../src/door/gpio-resolve.ts';
import { tempDir } from '../helpers/tmp.ts';
import { type FakeChip, FakeSysfs, PI4_KERNEL_5_15, PI4_KERNEL_6_6, PI5_KERNEL_6_6 } from './fake-sysfs.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tree(chips: FakeChip[]): string {
  const dir = tempDir('dorvakt-gpio-');
  cleanups.push(dir.cleanup);
  return new FakeSysfs(dir.path, chips).root;
}

describe('resolveGpioLine', () => {
  it('adds the base 512 of pinctrl-bcm2711 on a Pi 4 with kernel 6.6+', () => {
    const root = tree(PI4_KERNEL_6_6);
    expect(resolveGpioLine({ chip: 'pinctrl-bcm2711', line: 17 }, root)).toBe(529);
    expect(resolveGpioLine({ chip: 'pinctrl-bcm2711', line: 0 }, root)).toBe(512);
    expect(resolveGpioLine({ chip: 'raspberrypi-exp-gpio', line: 2 }, root)).toBe(572);
  });

  it('adds the base 571 of pinctrl-rp1 on a Pi 5', () => {
    const root = tree(PI5_KERNEL_6_6);
    expect(resolveGpioLine({ chip: 'pinctrl-rp1', line: 17 }, root)).toBe(588);
    expect(resolveGpioLine({ chip: 'pinctrl-rp1', line: 27 }, root)).toBe(598);
  });

  it('keeps working on an older kernel where the base is 0', () => {
    const root = tree(PI4_KERNEL_5_15);
    expect(resolveGpioLine({ chip: 'pinctrl-bcm2711', line: 17 }, root)).toBe(17);
  });

  it('passes raw numbers through without reading the tree', () => {
    expect(resolveGpioLine(588, '/nonexistent/gpio')).toBe(588);
  });

  it('names the labels that exist when the label is missing', () => {
    const root = tree(PI5_KERNEL_6_6);
    const attempt = () => resolveGpioLine({ chip: 'pinctrl-bcm2711', line: 17 }, root);
    expect(attempt).toThrow(GpioResolveError);
    expect(attempt).toThrow(/no GPIO chip labelled "pinctrl-bcm2711"/);
    expect(attempt).toThrow(/pinctrl-rp1 \(gpiochip571, base 571, 54 lines\)/);
    expect(attempt).toThrow(/gpio-brcmstb@107d517c00/);
  });

  it('rejects a line beyond the chip', () => {
    const root = tree(PI5_KERNEL_6_6);
    expect(() => resolveGpioLine({ chip: 'pinctrl-rp1', line: 54 }, root)).toThrow(/out of range.*54 lines/);
    expect(resolveGpioLine({ chip: 'pinctrl-rp1', line: 53 }, root)).toBe(624);
  });

  it('refuses a label that more than one chip carries', () => {
    const root = tree(PI5_KERNEL_6_6);
    expect(() => resolveGpioLine({ chip: 'gpio-brcmstb@107d508500', line: 1 }, root)).toThrow(
      /ambiguous.*gpiochip512, gpiochip544/,
    );
  });

  it('says so when the sysfs root is missing', () => {
    expect(() => resolveGpioLine({ chip: 'pinctrl-rp1', line: 1 }, '/nonexistent/gpio')).toThrow(
      /cannot read GPIO sysfs root/,
    );
  });

  it('lists chips ordered by base, numeric not lexical', () => {
    const root = tree([
      { label: 'b', base: 1000, ngpio: 8 },
      { label: 'a', base: 99, ngpio: 8 },
    ]);
    expect(listGpioChips(root).map((c) => c.base)).toEqual([99, 1000]);
  });

  it('any base + in-range line resolves to their sum (property)', () => {
    const dir = tempDir('dorvakt-gpio-');
    cleanups.push(dir.cleanup);
    let n = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2048 }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        (base, ngpio, seed) => {
          const line = seed % ngpio;
          const root = new FakeSysfs(`${dir.path}/t${n++}`, [{ label: 'chip-under-test', base, ngpio }]).root;
          return resolveGpioLine({ chip: 'chip-under-test', line }, root) === base + line;
        },
      ),
      { numRuns: 50 },
    );
  });
});
