import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import type { ReaderStatus, RejectedEvent, SwipeEvent } from '../../src/reader/reader.ts';
import { StdinCardReader } from '../../src/reader/stdin-reader.ts';
import { waitFor } from '../helpers/ports.ts';

function setup(profile: 'line' | 'keypad' | 'stx-etx') {
  const input = new PassThrough();
  const logs: string[] = [];
  const log = createLogger('info', { write: (line: string) => logs.push(line) });
  const reader = new StdinCardReader(
    { profile, card_pattern: '^[0-9A-Za-z]{4,32}$', pin_timeout_ms: 10_000 },
    log,
    'demo',
    input,
  );
  const seen = { swipes: [] as SwipeEvent[], rejected: [] as RejectedEvent[], status: [] as ReaderStatus[] };
  reader.on('swipe', (e) => seen.swipes.push(e));
  reader.on('rejected', (e) => seen.rejected.push(e));
  reader.on('status', (s) => seen.status.push(s));
  return { input, reader, seen, logs };
}

describe('StdinCardReader', () => {
  it('turns typed lines into swipes and rejections, and goes offline when input ends', async () => {
    const { input, reader, seen, logs } = setup('line');
    reader.start();
    expect(reader.online).toBe(true);
    input.write('12345678\n');
    input.write('no!\n');
    await waitFor(() => seen.swipes.length === 1 && seen.rejected.length === 1, 5000, 'events');
    expect(seen.swipes[0]).toMatchObject({ card: '12345678' });
    expect(typeof seen.swipes[0]!.receivedAt).toBe('bigint');
    expect(seen.rejected).toEqual([{ why: 'pattern_mismatch' }]);
    input.end();
    await waitFor(() => seen.status.length === 2, 5000, 'offline');
    expect(seen.status).toEqual(['online', 'offline']);
    expect(reader.online).toBe(false);
    expect(logs.join('\n')).not.toContain('12345678');
  });

  it('keypad: card line then PIN ending in #', async () => {
    const { input, reader, seen } = setup('keypad');
    reader.start();
    input.write('CARD1\n4321#\n');
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe');
    expect(seen.swipes[0]).toMatchObject({ card: 'CARD1', pin: '4321' });
    await reader.stop();
  });

  it('stx-etx config falls back to typed lines; stop() detaches from the input', async () => {
    const { input, reader, seen } = setup('stx-etx');
    reader.start();
    input.write('0123ABCDEF\n');
    await waitFor(() => seen.swipes.length === 1, 5000, 'swipe');
    await reader.stop();
    input.write('99999999\n');
    input.end();
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.swipes.map((s) => s.card)).toEqual(['0123ABCDEF']);
    expect(seen.status).toEqual(['online']);
  });
});
