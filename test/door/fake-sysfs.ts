import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeChip {
  label: string;
  base: number;
  ngpio: number;
}

/** Chips as a Raspberry Pi 4 on kernel 6.6+ lists them (bases moved up by 512). */
export const PI4_KERNEL_6_6: FakeChip[] = [
  { label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
  { label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
];

/** Chips as a Raspberry Pi 5 on kernel 6.6+ lists them; the header pins are on the RP1. */
export const PI5_KERNEL_6_6: FakeChip[] = [
  { label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 },
  { label: 'gpio-brcmstb@107d508500', base: 544, ngpio: 4 },
  { label: 'gpio-brcmstb@107d517c00', base: 548, ngpio: 17 },
  { label: 'gpio-brcmstb@107d517c00', base: 565, ngpio: 6 },
  { label: 'pinctrl-rp1', base: 571, ngpio: 54 },
];

/** Chips as an older Pi 4 kernel lists them (base 0). */
export const PI4_KERNEL_5_15: FakeChip[] = [
  { label: 'pinctrl-bcm2711', base: 0, ngpio: 58 },
  { label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 },
];

/**
 * A sysfs GPIO class tree in a temp dir, with a stand-in for the kernel's export handling: a line
 * written to `export` appears as `gpioN/` a moment later (asynchronously, as udev makes it usable).
 */
export class FakeSysfs {
  private kernel: NodeJS.Timeout | null = null;
  readonly exported: number[] = [];
  readonly unexported: number[] = [];

  constructor(
    readonly root: string,
    chips: FakeChip[],
  ) {
    mkdirSync(root, { recursive: true });
    for (const chip of chips) {
      const dir = join(root, `gpiochip${chip.base}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'label'), `${chip.label}\n`);
      writeFileSync(join(dir, 'base'), `${chip.base}\n`);
      writeFileSync(join(dir, 'ngpio'), `${chip.ngpio}\n`);
    }
    writeFileSync(join(root, 'export'), '');
    writeFileSync(join(root, 'unexport'), '');
  }

  startKernel(): this {
    this.kernel = setInterval(() => this.tick(), 5);
    return this;
  }

  stopKernel(): void {
    if (this.kernel) clearInterval(this.kernel);
    this.kernel = null;
  }

  private tick(): void {
    const exp = readFileSync(join(this.root, 'export'), 'utf8').trim();
    if (exp) {
      writeFileSync(join(this.root, 'export'), '');
      this.exported.push(Number(exp));
      this.createLine(Number(exp));
    }
    const unexp = readFileSync(join(this.root, 'unexport'), 'utf8').trim();
    if (unexp) {
      writeFileSync(join(this.root, 'unexport'), '');
      this.unexported.push(Number(unexp));
      rmSync(join(this.root, `gpio${unexp}`), { recursive: true, force: true });
    }
  }

  /** A line as the kernel shows it right after export (or one exported earlier by someone else). */
  createLine(
    gpio: number,
    files: Partial<Record<'direction' | 'value' | 'active_low' | 'edge', string>> = {},
  ): void {
    const dir = join(this.root, `gpio${gpio}`);
    mkdirSync(dir, { recursive: true });
    const initial = { direction: 'in', value: '0', active_low: '0', edge: 'none', ...files };
    for (const [name, content] of Object.entries(initial)) writeFileSync(join(dir, name), `${content}\n`);
  }

  isExported(gpio: number): boolean {
    return existsSync(join(this.root, `gpio${gpio}`));
  }

  read(gpio: number, file: 'direction' | 'value' | 'active_low' | 'edge'): string {
    return readFileSync(join(this.root, `gpio${gpio}`, file), 'utf8').trim();
  }

  /** Drives an input pin, as the outside world would. */
  setLevel(gpio: number, level: 0 | 1): void {
    writeFileSync(join(this.root, `gpio${gpio}`, 'value'), `${level}\n`);
  }
}
