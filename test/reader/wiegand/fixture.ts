/** A Wiegand reader config and the fake `gpiomon` (fake-gpiomon.mjs) it runs as its real child. */
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { AJV_OPTIONS } from '../../../src/config/load.ts';
import { type ReaderConfig, readerSchema } from '../../../src/reader/config.ts';
import { encodeFrame } from '../../../src/reader/wiegand/decoder.ts';

const FAKE = fileURLToPath(new URL('./fake-gpiomon.mjs', import.meta.url));
const validate = new Ajv(AJV_OPTIONS).compile(readerSchema);

export const D0 = 17;
export const D1 = 27;

/** An executable named gpiomon in `dir` that runs the fake with `dir` as its control directory. */
export function installFakeGpiomon(dir: string): string {
  const path = join(dir, 'gpiomon');
  writeFileSync(
    path,
    `#!/bin/sh\nDORVAKT_FAKE_GPIOMON_DIR='${dir}' exec '${process.execPath}' '${FAKE}' "$@"\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** The script for the fake's n-th start. */
export function script(dir: string, run: number, lines: string[]): void {
  writeFileSync(join(dir, `run.${run}`), `${lines.join('\n')}\n`);
}

/** Script lines for one frame's falling edges, 2 ms apart. */
export function frameEdges(bits: readonly number[], startNs: bigint): string[] {
  return bits.map((b, i) => `edge ${b ? D1 : D0} ${startNs + BigInt(i) * 2_000_000n}`);
}

export const card = (length: 26 | 34, data: number, startNs: bigint) =>
  frameEdges(encodeFrame(length, data), startNs);

export function starts(dir: string): number {
  return readdirSync(dir).filter((f) => f.startsWith('started.')).length;
}

export function pidOf(dir: string, run: number): number | undefined {
  const file = join(dir, `started.${run}`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

export function wiegandReaderConfig(
  gpiomon: string,
  wiegand: Record<string, unknown> = {},
  over: Partial<ReaderConfig> = {},
): ReaderConfig {
  const config = {
    path: '/dev/gpiochip0',
    profile: 'wiegand',
    reconnect_min_ms: 50,
    reconnect_max_ms: 200,
    ...over,
    wiegand: { d0: D0, d1: D1, gpiomon, ...wiegand },
  };
  if (!validate(config)) throw new Error(JSON.stringify(validate.errors));
  return config as unknown as ReaderConfig;
}
