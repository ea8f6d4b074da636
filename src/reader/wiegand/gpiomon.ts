/**
 * libgpiod v2 `gpiomon`: how it is started and what its output lines mean (tools/gpiomon.c and
 * tools-common.c in libgpiod). The kernel timestamps each edge when it happens, so the bits' timing
 * survives however late the pipe is read.
 */
import type { WiegandConfig } from './config.ts';

export interface Edge {
  /** Line offset on the chip. */
  offset: number;
  falling: boolean;
  /** Kernel timestamp (CLOCK_MONOTONIC), nanoseconds. */
  ns: bigint;
}

/**
 * `%e` is the numeric event type (1 rising, 2 falling), `%o` the line offset, `%S` the timestamp as
 * seconds with nine decimals. Asked for explicitly so the lines do not depend on line names.
 */
export const GPIOMON_FORMAT = '%e %o %S';

/** Arguments for `gpiomon`: falling edges of D0 and D1 on the chip, monotonic clock, a banner once the lines are held. */
export function gpiomonArgs(chip: string, config: Pick<WiegandConfig, 'd0' | 'd1' | 'bias'>): string[] {
  const args = ['--banner', '--chip', chip, '--edges', 'falling', '--event-clock', 'monotonic'];
  if (config.bias !== 'as-is') args.push('--bias', config.bias);
  args.push('--consumer', 'dorvakt', '--format', GPIOMON_FORMAT, String(config.d0), String(config.d1));
  return args;
}

const FORMATTED = /^([12]) (\d+) (\d+)\.(\d{9})$/;
/** The default (no --format) line: `<s>.<ns>\t<rising|falling>\t<chip> <offset>[ "<name>"]` or `"<name>"` alone. */
const HUMAN = /^(\d+)\.(\d{9})\t(rising|falling)\t\S+ (\d+)(?: .*)?$/;

/** One output line as an edge; undefined for anything else (the banner, a stray line). */
export function parseGpiomonLine(line: string): Edge | undefined {
  const f = FORMATTED.exec(line);
  if (f)
    return {
      offset: Number(f[2]),
      falling: f[1] === '2',
      ns: BigInt(f[3]!) * 1_000_000_000n + BigInt(f[4]!),
    };
  const h = HUMAN.exec(line);
  if (h)
    return {
      offset: Number(h[4]),
      falling: h[3] === 'falling',
      ns: BigInt(h[1]!) * 1_000_000_000n + BigInt(h[2]!),
    };
  return undefined;
}

export const isBanner = (line: string) => line.startsWith('Monitoring line');

/** Splits a byte stream into lines; a line cut between two reads is joined. Overlong junk is dropped. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    // A line that never ends (a broken child) must not grow without bound.
    if (this.rest.length > 4096) this.rest = '';
    return lines;
  }

  reset(): void {
    this.rest = '';
  }
}
