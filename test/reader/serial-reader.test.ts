import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import type { ReaderConfig } from '../../src/reader/config.ts';
import type { CardReader, ReaderStatus, RejectedEvent, SwipeEvent } from '../../src/reader/reader.ts';
import { reconnectDelay } from '../../src/reader/reconnecting-port.ts';
import { SerialCardReader } from '../../src/reader/serial-reader.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';

function config(path: string, over: Partial<ReaderConfig> = {}): ReaderConfig {
  return {
    path,
    baud_rate: 9600,
    profile: 'stx-etx',
    pin_timeout_ms: 10_000,
    card_pattern: '^[0-9A-Za-z]{4,32}$',
    frame_gap_ms: 500,
    reconnect_min_ms: 50,
    reconnect_max_ms: 200,
    ...over,
  };
}

/** A reader with everything it emits and logs recorded. */
function record(reader: CardReader) {
  const seen = {
    swipes: [] as SwipeEvent[],
    rejected: [] as RejectedEvent[],
    status: [] as ReaderStatus[],
  };
  reader.on('swipe', (e) => seen.swipes.push(e));
  reader.on('rejected', (e) => seen.rejected.push(e));
  reader.on('status', (s) => seen.status.push(s));
  return seen;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(over: Partial<ReaderConfig> = {}, pty?: PtyPair) {
  const pair = pty ?? (await createPtyPair());
  if (!pty) cleanups.push(() => pair.close());
  const logs: string[] = [];
  const log = createLogger('debug', { write: (line: string) => logs.push(line) });
  const reader = new SerialCardReader(config(pair.devicePath, over), log, 'front');
  const seen = record(reader);
  cleanups.push(() => reader.stop());
  return { pty: pair, reader, seen, logs };
}

describe('SerialCardReader over a real pty', () => {
  it('delivers swipes from stx-etx frames, split across writes', async () => {
    const { pty, reader, seen } = await setup();
    reader.start();
    await waitFor(() => reader.online, 5000, 'reader online');
    expect(seen.status).toEqual(['online']);
    const before = process.hrtime.bigint();
    pty.write('\x020123AB');
    pty.write('CDEF\r\n\x03\x0262E3086CED08\x03');
    await waitFor(() => seen.swipes.length === 2, 5000, 'two swipes');
    expect(seen.swipes.map((s) => s.card)).toEqual(['0123ABCDEF', '62E3086CED']);
    expect(seen.swipes[0]!.pin).toBeUndefined();
    expect(seen.swipes[0]!.receivedAt).toBeGreaterThan(before);
    expect(seen.swipes[1]!.receivedAt).toBeLessThanOrEqual(process.hrtime.bigint());
    expect(seen.rejected).toEqual([]);
  });

  it('a card number whose newline comes after a silence never grants: stale_partial, then nothing', async () => {
    const { pty, reader, seen } = await setup({ profile: 'line', frame_gap_ms: 100 });
    reader.start();
    await waitFor(() => reader.online, 5000, 'reader online');
    pty.write('10000001');
    await waitFor(() => seen.rejected.length === 1, 5000, 'the stale partial frame dropped');
    expect(seen.rejected).toEqual([{ why: 'stale_partial' }]);
    pty.write('\r\n10000002\r\n');
    await waitFor(() => seen.swipes.length === 1, 5000, 'the next whole card');
    expect(seen.swipes.map((s) => s.card)).toEqual(['10000002']);
  });

  it('rejects a garbled frame without a swipe, and logs the reason but never the bytes', async () => {
    const { pty, reader, seen, logs } = await setup();
    reader.start();
    await waitFor(() => reader.online, 5000, 'reader online');
    pty.write('\x029876543210FF\x03');
    await waitFor(() => seen.rejected.length === 1, 5000, 'rejection');
    expect(seen.rejected).toEqual([{ why: 'bad_checksum' }]);
    pty.write('\x021122334455\x03');
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe');
    expect(seen.swipes.map((s) => s.card)).toEqual(['1122334455']);
    const warnings = logs.map((l) => JSON.parse(l)).filter((l) => l.why);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, reader: 'front', why: 'bad_checksum' });
    expect(logs.join('\n')).not.toMatch(/9876543210|1122334455/);
  });

  it('goes offline on unplug, reconnects on plug, and carries no half frame across', async () => {
    const { pty, reader, seen } = await setup();
    reader.start();
    await waitFor(() => reader.online, 5000, 'reader online');
    pty.write('\x0201234');
    await new Promise((r) => setTimeout(r, 50)); // let the half frame reach the reader
    await pty.unplug();
    await waitFor(() => seen.status.at(-1) === 'offline', 5000, 'offline');
    expect(reader.online).toBe(false);
    await pty.plug();
    await waitFor(() => reader.online, 5000, 'back online');
    expect(seen.status).toEqual(['online', 'offline', 'online']);
    pty.write('56789\x03');
    pty.write('\x02AABBCCDDEE\x03');
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe after reconnect');
    expect(seen.swipes.map((s) => s.card)).toEqual(['AABBCCDDEE']);
    expect(seen.rejected).toEqual([{ why: 'garbage' }]);
  });

  it('notices an unplug while a read is under way (a 0-byte read is a hang-up)', async () => {
    const { pty, reader, seen } = await setup();
    reader.start();
    await waitFor(() => reader.online, 5000, 'reader online');
    for (let round = 1; round <= 3; round++) {
      // Unplug in the same tick as the swipe: the port's next read is then already under way.
      const unplugged = new Promise<void>((resolve) => reader.once('swipe', () => resolve(pty.unplug())));
      pty.write('\x021122334455\x03');
      await unplugged;
      await waitFor(() => !reader.online, 5000, `offline ${round}`);
      await pty.plug();
      await waitFor(() => reader.online, 5000, `online ${round}`);
    }
    expect(seen.status).toEqual(['online', 'offline', 'online', 'offline', 'online', 'offline', 'online']);
  });

  it('reports offline when the device is missing at start, and comes online once it appears', async () => {
    const pty = await createPtyPair();
    cleanups.push(() => pty.close());
    await pty.unplug();
    const { reader, seen } = await setup({ profile: 'line' }, pty);
    reader.start();
    await waitFor(() => seen.status.length === 1, 5000, 'first status');
    expect(seen.status).toEqual(['offline']);
    await new Promise((r) => setTimeout(r, 300)); // several failed attempts: still one status event
    expect(seen.status).toEqual(['offline']);
    await pty.plug();
    await waitFor(() => reader.online, 5000, 'online');
    pty.write('4711\r\n');
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe');
    expect(seen.swipes[0]!.card).toBe('4711');
  });

  it('keypad: card then PIN gives one swipe; a missing PIN times out with no swipe', async () => {
    const { pty, reader, seen } = await setup({ profile: 'keypad', pin_timeout_ms: 150 });
    reader.start();
    await waitFor(() => reader.online, 5000, 'reader online');
    pty.write('CARD42\r\n');
    pty.write('12');
    pty.write('34#');
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe with PIN');
    expect(seen.swipes[0]).toMatchObject({ card: 'CARD42', pin: '1234' });
    pty.write('CARD43\r\n');
    await waitFor(() => seen.rejected.length === 1, 5000, 'pin timeout');
    expect(seen.rejected).toEqual([{ why: 'pin_timeout' }]);
    expect(seen.swipes).toHaveLength(1);
  });

  it('stop() closes the port and emits nothing more', async () => {
    const { pty, reader, seen } = await setup({ profile: 'line' });
    reader.start();
    await waitFor(() => reader.online, 5000, 'reader online');
    await reader.stop();
    expect(reader.online).toBe(false);
    pty.write('5555\r\n');
    await pty.unplug();
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.swipes).toEqual([]);
    expect(seen.status).toEqual(['online']);
    await pty.plug();
  });
});

describe('reconnectDelay', () => {
  it('doubles from min, caps at max, and adds at most 20% jitter within the cap', () => {
    expect([0, 1, 2, 3, 10, 100].map((a) => reconnectDelay(a, 500, 30_000, () => 0))).toEqual([
      500, 1000, 2000, 4000, 30_000, 30_000,
    ]);
    expect(reconnectDelay(0, 500, 30_000, () => 1)).toBe(600);
    expect(reconnectDelay(20, 500, 30_000, () => 1)).toBe(30_000);
    expect(reconnectDelay(3, 500, 100, () => 0.5)).toBe(500);
  });
});
