/** The Wiegand reader with a fake `gpiomon` as its real, supervised child process. */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.ts';
import type { ReaderConfig } from '../../../src/reader/config.ts';
import type { ReaderStatus, RejectedEvent, SwipeEvent } from '../../../src/reader/reader.ts';
import { encodeFrame } from '../../../src/reader/wiegand/decoder.ts';
import { WiegandCardReader } from '../../../src/reader/wiegand/reader.ts';
import { waitFor } from '../../helpers/ports.ts';
import { tempDir } from '../../helpers/tmp.ts';
import {
  card,
  frameEdges,
  installFakeGpiomon,
  pidOf,
  script,
  starts,
  wiegandReaderConfig,
} from './fixture.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(over: Partial<ReaderConfig> = {}, wiegand: Record<string, unknown> = {}) {
  const dir = tempDir('wiegand-');
  cleanups.push(() => dir.cleanup());
  const gpiomon = installFakeGpiomon(dir.path);
  const reader = new WiegandCardReader(
    wiegandReaderConfig(gpiomon, wiegand, over),
    createLogger('silent'),
    'front',
  );
  const seen = { swipes: [] as SwipeEvent[], rejected: [] as RejectedEvent[], status: [] as ReaderStatus[] };
  reader.on('swipe', (e) => seen.swipes.push(e));
  reader.on('rejected', (e) => seen.rejected.push(e));
  reader.on('status', (s) => seen.status.push(s));
  cleanups.push(() => reader.stop());
  return { dir: dir.path, reader, seen };
}

describe('Wiegand reader over gpiomon', () => {
  it('a card read by gpiomon arrives as a swipe in the configured form', async () => {
    const { dir, reader, seen } = setup({ card_format: 'facility-number' });
    script(dir, 0, card(26, 0x6f6c3a, 1_000_000_000n));
    reader.start();
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe');
    expect(seen.swipes[0]!.card).toBe('11127706');
    expect(seen.status).toEqual(['online']);
    expect(reader.online).toBe(true);
  });

  it('bad parity, noise and a short frame are rejected and counted; the good card after them still reads', async () => {
    const { dir, reader, seen } = setup();
    const good = encodeFrame(26, 0x010203);
    script(dir, 0, [
      ...frameEdges([...good.slice(0, -1), 1 - good.at(-1)!], 1_000_000_000n),
      ...frameEdges(good.slice(0, 12), 2_000_000_000n),
      'edge 17 3000000000',
      'edge 27 3000000040',
      ...card(34, 0xcafe0001, 4_000_000_000n),
    ]);
    reader.start();
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe');
    expect(seen.swipes[0]!.card).toBe('CAFE0001');
    expect(seen.rejected.map((r) => r.why)).toEqual(['bad_checksum', 'bad_length', 'garbage']);
  });

  it('a frame split across two reads in the middle of a line is joined', async () => {
    const { dir, reader, seen } = setup();
    const edges = card(26, 0x6f6c3a, 1_000_000_000n);
    script(dir, 0, [...edges.slice(0, 9), 'split', ...edges.slice(9)]);
    reader.start();
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe');
    expect(seen.swipes[0]!.card).toBe('6F6C3A');
    expect(seen.rejected).toEqual([]);
  });

  it('gpiomon killed: the reader goes offline, gpiomon is started again, and cards read again', async () => {
    const { dir, reader, seen } = setup();
    script(dir, 0, card(26, 0x000001, 1_000_000_000n));
    script(dir, 1, card(26, 0x000002, 9_000_000_000n));
    reader.start();
    await waitFor(() => seen.swipes.length === 1, 5000, 'first swipe');
    process.kill(pidOf(dir, 0)!, 'SIGKILL');
    await waitFor(() => seen.swipes.length === 2, 5000, 'swipe after restart');
    expect(seen.swipes.map((s) => s.card)).toEqual(['000001', '000002']);
    expect(seen.status).toEqual(['online', 'offline', 'online']);
    expect(starts(dir)).toBe(2);
  });

  it('a gpiomon that keeps failing is restarted with backoff, the reader offline until it holds the lines', async () => {
    const { dir, reader, seen } = setup({}, { bias: 'pull-up' });
    for (let run = 0; run < 3; run++)
      script(dir, run, ['die unable to request lines on chip /dev/gpiochip0: Device or resource busy']);
    script(dir, 3, card(26, 0x0000aa, 1_000_000_000n));
    reader.start();
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe after three failed starts');
    expect(starts(dir)).toBe(4);
    expect(seen.status).toEqual(['offline', 'online']);
  });

  it('a gpiomon that exits after reading is started again', async () => {
    const { dir, reader, seen } = setup();
    script(dir, 0, ['exit 0']);
    script(dir, 1, card(26, 0x0000bb, 1_000_000_000n));
    reader.start();
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe');
    expect(seen.status).toEqual(['online', 'offline', 'online']);
  });

  it('no gpiomon installed: offline, never a throw', async () => {
    const dir = tempDir('wiegand-');
    cleanups.push(() => dir.cleanup());
    const reader = new WiegandCardReader(
      wiegandReaderConfig(`${dir.path}/no-such-gpiomon`),
      createLogger('silent'),
      'front',
    );
    const status: ReaderStatus[] = [];
    reader.on('status', (s) => status.push(s));
    cleanups.push(() => reader.stop());
    reader.start();
    await waitFor(() => status.length > 0, 5000, 'status');
    expect(status).toEqual(['offline']);
  });

  it('stop ends the child', async () => {
    const { dir, reader, seen } = setup();
    reader.start();
    await waitFor(() => seen.status.includes('online'), 5000, 'online');
    const pid = pidOf(dir, 0)!;
    await reader.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
