/** The OSDP control panel over a real pty (socat) against simulated readers that follow the specification. */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CMD } from '../../../src/reader/osdp/protocol.ts';
import { waitFor } from '../../helpers/ports.ts';
import { type Bench, osdpBench, recorder } from './fixture.ts';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

const chlngCount = (pd: { handshakes: number }) => pd.handshakes;

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

describe('OSDP control panel ↔ simulated reader over a pty', () => {
  it('plaintext: identifies the reader, polls, delivers RAW and FMT cards', async () => {
    bench = await osdpBench([{ address: 0 }]);
    const reader = bench.reader({ security: 'plaintext' });
    const seen = recorder(reader);
    reader.start();
    await waitFor(() => reader.online, 5000, 'online');
    const pd = bench.sim.device(0);
    pd.present('0123ABCDEF');
    pd.present('10000001', 'fmt');
    await waitFor(() => seen.swipes.length === 2, 5000, 'two cards');
    expect(seen.swipes.map((s) => s.card)).toEqual(['0123ABCDEF', '10000001']);
    // In this order (a command repeated after a slow reply counts once).
    expect([...new Set(pd.received.map((r) => r.code))].slice(0, 4)).toEqual([
      CMD.ID,
      CMD.CAP,
      CMD.LSTAT,
      CMD.POLL,
    ]);
    expect(pd.plainCards).toBe(2);
  });

  it('secure channel with the reader key: the card arrives encrypted and MACed', async () => {
    bench = await osdpBench([{ address: 0, key: KEY, acceptPlaintext: false }]);
    const file = bench.keyFile('front.key', KEY);
    const reader = bench.reader({ security: 'key', scbk: { file } });
    const seen = recorder(reader);
    reader.start();
    await waitFor(() => reader.pd.secure, 5000, 'secure channel');
    const pd = bench.sim.device(0);
    pd.present('62E3086CED');
    await waitFor(() => seen.swipes.length === 1, 5000, 'the card');
    expect(seen.swipes[0]!.card).toBe('62E3086CED');
    expect(pd.sealedCards).toBe(1);
    expect(pd.received.filter((r) => r.code === CMD.POLL).every((r) => r.secure)).toBe(true);
    expect(seen.alarms).toEqual([]);
  });

  it('a wrong key fails the handshake: alarm, no poll, and no card gets through', async () => {
    bench = await osdpBench([{ address: 0, key: randomBytes(16) }]);
    const file = bench.keyFile('front.key', KEY);
    const reader = bench.reader({ security: 'key', scbk: { file } });
    const seen = recorder(reader);
    reader.start();
    const pd = bench.sim.device(0);
    pd.present('62E3086CED');
    await waitFor(() => seen.alarms.some(([c, a]) => c === 'reader_insecure' && a), 5000, 'insecure alarm');
    // Several handshake retries later (every 100 ms here): still nothing but handshakes.
    await waitFor(() => chlngCount(pd) >= 4, 5000, 'handshake retries');
    expect(seen.swipes).toEqual([]);
    expect(reader.pd.secure).toBe(false);
    expect(pd.received.some((r) => r.code === CMD.POLL)).toBe(false);
    expect(pd.cards.length).toBe(1);
  });

  it('a reader that answers a sealed poll with a plaintext card (downgrade) is refused', async () => {
    bench = await osdpBench([{ address: 0, key: KEY }]);
    const file = bench.keyFile('front.key', KEY);
    const reader = bench.reader({ security: 'key', scbk: { file } });
    const seen = recorder(reader);
    reader.start();
    await waitFor(() => reader.pd.secure, 5000, 'secure channel');
    const pd = bench.sim.device(0);
    pd.downgrade = true;
    pd.present('62E3086CED');
    await waitFor(() => seen.rejected.length === 1, 5000, 'refused card');
    expect(seen.rejected).toEqual([{ why: 'insecure' }]);
    expect(seen.swipes).toEqual([]);
    expect(seen.alarms).toContainEqual(['reader_insecure', true]);
  });

  it('install mode: SCBK-D only when the config asks for it', async () => {
    bench = await osdpBench([{ address: 0, install: true }]);
    const reader = bench.reader({ security: 'install' });
    const seen = recorder(reader);
    reader.start();
    await waitFor(() => reader.pd.secure, 5000, 'secure channel with SCBK-D');
    bench.sim.device(0).present('0011223344');
    await waitFor(() => seen.swipes.length === 1, 5000, 'the card');
  });

  it('a reader that stops answering goes offline and comes back', async () => {
    bench = await osdpBench([{ address: 0, key: KEY }]);
    const file = bench.keyFile('front.key', KEY);
    const reader = bench.reader({ security: 'key', scbk: { file }, reply_timeout_ms: 50, offline_after: 3 });
    const seen = recorder(reader);
    reader.start();
    await waitFor(() => reader.pd.secure, 5000, 'secure channel');
    const pd = bench.sim.device(0);
    pd.silent = true;
    await waitFor(() => seen.status.includes('offline'), 5000, 'offline');
    pd.silent = false;
    await waitFor(() => reader.pd.secure && seen.status.at(-1) === 'online', 5000, 'back, secure again');
    pd.present('62E3086CED');
    await waitFor(() => seen.swipes.length === 1, 5000, 'the card after the outage');
    expect(seen.status).toEqual(['online', 'offline', 'online']);
  });

  it('a tamper report raises reader_tamper and its end clears it', async () => {
    bench = await osdpBench([{ address: 0, key: KEY }]);
    const file = bench.keyFile('front.key', KEY);
    const reader = bench.reader({ security: 'key', scbk: { file } });
    const seen = recorder(reader);
    reader.start();
    await waitFor(() => reader.pd.secure, 5000, 'secure channel');
    bench.sim.device(0).tamper = true;
    await waitFor(() => seen.alarms.some(([c, a]) => c === 'reader_tamper' && a), 5000, 'tamper');
    bench.sim.device(0).tamper = false;
    await waitFor(() => seen.alarms.some(([c, a]) => c === 'reader_tamper' && !a), 5000, 'tamper cleared');
  });

  it('two readers on one bus, by address, each deliver their own cards', async () => {
    bench = await osdpBench([
      { address: 1, key: KEY },
      { address: 2, key: KEY },
    ]);
    const file = bench.keyFile('bus.key', KEY);
    const a = bench.reader({ security: 'key', scbk: { file }, address: 1 }, 'front');
    const b = bench.reader({ security: 'key', scbk: { file }, address: 2 }, 'back');
    const seenA = recorder(a);
    const seenB = recorder(b);
    a.start();
    b.start();
    expect(a.bus).toBe(b.bus);
    await waitFor(() => a.pd.secure && b.pd.secure, 5000, 'both secure');
    bench.sim.device(2).present('BBBBBBBBBB');
    bench.sim.device(1).present('AAAAAAAAAA');
    await waitFor(() => seenA.swipes.length === 1 && seenB.swipes.length === 1, 5000, 'both cards');
    expect(seenA.swipes[0]!.card).toBe('AAAAAAAAAA');
    expect(seenB.swipes[0]!.card).toBe('BBBBBBBBBB');
  });

  it('a reader that stops while its command is on the wire does not stall the others on the bus', async () => {
    bench = await osdpBench([
      { address: 1, key: KEY },
      { address: 2, key: KEY },
    ]);
    const file = bench.keyFile('bus.key', KEY);
    const a = bench.reader({ security: 'key', scbk: { file }, address: 1, offline_after: 100 }, 'front');
    const b = bench.reader({ security: 'key', scbk: { file }, address: 2 }, 'back');
    const seenB = recorder(b);
    a.start();
    b.start();
    await waitFor(() => a.pd.secure && b.pd.secure, 5000, 'both secure');
    // Reader 1 goes quiet: the bus now spends nearly all its time waiting on reader 1's commands.
    bench.sim.device(1).silent = true;
    await new Promise((r) => setTimeout(r, 300));
    // Stop reader 1 just after the bus wrote it a command (its reply would be due in 200 ms).
    const written = new Promise<void>((resolve) => {
      const next = a.pd.next.bind(a.pd);
      a.pd.next = (now) => {
        const bytes = next(now);
        if (bytes) setTimeout(resolve, 5);
        return bytes;
      };
    });
    await written;
    await a.stop();
    bench.sim.device(2).present('BBBBBBBBBB');
    await waitFor(() => seenB.swipes.length === 1, 3000, 'the other reader still polled');
  });
});
