import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpioLine } from './config.ts';

/** One `gpiochipN` entry of the sysfs GPIO class. */
export interface GpioChip {
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

export class GpioResolveError extends Error {
  override name = 'GpioResolveError';
}

/** Reads every `<root>/gpiochip*` (label, base, ngpio), ordered by base. */
export function listGpioChips(sysfsRoot: string): GpioChip[] {
  let names: string[];
  try {
    names = readdirSync(sysfsRoot).filter((n) => /^gpiochip\d+$/.test(n));
  } catch (error) {
    throw new GpioResolveError(`cannot read GPIO sysfs root ${sysfsRoot}: ${(error as Error).message}`);
  }
  const chips: GpioChip[] = [];
  for (const name of names) {
    const dir = join(sysfsRoot, name);
    const read = (file: string) => readFileSync(join(dir, file), 'utf8').trim();
    try {
      chips.push({ name, label: read('label'), base: Number(read('base')), ngpio: Number(read('ngpio')) });
    } catch {
      // A chip without readable attributes cannot be addressed by label; the others still can.
    }
  }
  return chips.sort((a, b) => a.base - b.base);
}

/**
 * A configured line as the sysfs number to export. Raw numbers pass through; `{chip, line}` adds the
 * base of the chip with that label, because kernel 6.6+ moved the bases (512 on a Pi 4, 571 on a Pi 5).
 */
export function resolveGpioLine(line: GpioLine, sysfsRoot: string): number {
  if (typeof line === 'number') return line;
  const chips = listGpioChips(sysfsRoot);
  const matches = chips.filter((c) => c.label === line.chip);
  if (matches.length === 0) {
    const known = chips.map((c) => `${c.label} (${c.name}, base ${c.base}, ${c.ngpio} lines)`).join('; ');
    throw new GpioResolveError(
      `no GPIO chip labelled "${line.chip}" under ${sysfsRoot}; found: ${known || 'no gpiochip entries'}`,
    );
  }
  if (matches.length > 1) {
    throw new GpioResolveError(
      `GPIO chip label "${line.chip}" is ambiguous under ${sysfsRoot}: ${matches.map((c) => c.name).join(', ')}`,
    );
  }
  const chip = matches[0]!;
  if (!Number.isInteger(chip.base) || !Number.isInteger(chip.ngpio)) {
    throw new GpioResolveError(`GPIO chip ${chip.name} ("${chip.label}") has an unreadable base or ngpio`);
  }
  if (line.line >= chip.ngpio) {
    throw new GpioResolveError(
      `line ${line.line} is out of range for "${line.chip}" (${chip.name} has ${chip.ngpio} lines, 0-${chip.ngpio - 1})`,
    );
  }
  return chip.base + line.line;
}

/** Human form for logs: `pinctrl-rp1:17 (gpio588)` or `gpio17`. */
export function describeGpioLine(line: GpioLine, resolved?: number): string {
  if (typeof line === 'number') return `gpio${line}`;
  return `${line.chip}:${line.line}${resolved === undefined ? '' : ` (gpio${resolved})`}`;
}
