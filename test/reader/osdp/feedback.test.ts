/** Feedback at the door: grant, deny and "library system unavailable" look and sound different. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/contract/reasons.ts';
import { feedbackClass, feedbackCommands } from '../../../src/reader/osdp/feedback.ts';
import { CMD } from '../../../src/reader/osdp/protocol.ts';
import { waitFor } from '../../helpers/ports.ts';
import { type Bench, osdpBench, osdpReaderConfig } from './fixture.ts';

const osdp = osdpReaderConfig('/dev/null', { security: 'plaintext' }).osdp!;
const granted: Decision = { allow: true, reason: 'allow' };
const denied: Decision = { allow: false, reason: 'fines' };
const unavailable: Decision = { allow: false, reason: 'ils_unavailable' };

const hex = (d: Uint8Array) => Buffer.from(d).toString('hex');

describe('feedback patterns', () => {
  it('sorts decisions into granted, denied and unavailable', () => {
    expect(feedbackClass(granted)).toBe('granted');
    expect(feedbackClass({ allow: true, reason: 'allow_offline_known' })).toBe('granted');
    expect(feedbackClass(denied)).toBe('denied');
    expect(feedbackClass({ allow: false, reason: 'closed' })).toBe('denied');
    expect(feedbackClass(unavailable)).toBe('unavailable');
    expect(feedbackClass({ allow: false, reason: 'store_unavailable' })).toBe('unavailable');
  });

  it('by default the three classes differ in LED colour and in the beeps', () => {
    const leds = [granted, denied, unavailable].map((d) => feedbackCommands(d, osdp, 'nb', false));
    const colour = (cmds: ReturnType<typeof feedbackCommands>) =>
      cmds.find((c) => c.code === CMD.LED)!.data[5];
    const beeps = (cmds: ReturnType<typeof feedbackCommands>) =>
      hex(cmds.find((c) => c.code === CMD.BUZ)!.data);
    expect(new Set(leds.map(colour)).size).toBe(3);
    expect(new Set(leds.map(beeps)).size).toBe(3);
    expect(leds.map(colour)).toEqual([2, 1, 3]); // green, red, amber
    expect(leds.every((cmds) => !cmds.some((c) => c.code === CMD.TEXT))).toBe(true);
  });

  it('follows the config per class, and shows the reason text on a display', () => {
    const custom = {
      ...osdp,
      text: 'on' as const,
      feedback: {
        ...osdp.feedback,
        denied: {
          led: { color: 'magenta' as const, on_ms: 200, off_ms: 200, duration_ms: 2000 },
          buzzer: { on_ms: 100, off_ms: 0, count: 0 },
        },
      },
    };
    const cmds = feedbackCommands(denied, custom, 'nb', false);
    expect(cmds.find((c) => c.code === CMD.LED)!.data[5]).toBe(5);
    expect(hex(cmds.find((c) => c.code === CMD.BUZ)!.data)).toBe('0001000000');
    const text = cmds.find((c) => c.code === CMD.TEXT)!.data;
    expect(Buffer.from(text.subarray(6)).toString('latin1')).toBe('Ubetalte gebyrer, kontakt biblioteket');
  });
});

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

describe('feedback over the bus', () => {
  it('a reader with a display gets LED, BUZ and TEXT, sealed, right after the decision', async () => {
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    bench = await osdpBench([{ address: 0, key, display: true }]);
    const file = bench.keyFile('front.key', key);
    const reader = bench.reader({ security: 'key', scbk: { file }, poll_interval_ms: 1000 });
    reader.start();
    await waitFor(() => reader.pd.secure, 5000, 'secure channel');
    const pd = bench.sim.device(0);
    await waitFor(() => pd.received.some((r) => r.code === CMD.POLL), 5000, 'polling');
    const before = pd.received.length;
    const t0 = performance.now();
    reader.feedback({ allow: false, reason: 'card_expired' });
    await waitFor(() => pd.received.length >= before + 3, 5000, 'three commands');
    // Sent at once, not after the 1 s poll pause.
    expect(performance.now() - t0).toBeLessThan(900);
    const sent = pd.received.slice(before, before + 3);
    expect(sent.map((r) => r.code)).toEqual([CMD.LED, CMD.BUZ, CMD.TEXT]);
    expect(sent.every((r) => r.secure)).toBe(true);
    expect(sent[0]!.data[5]).toBe(1);
    expect(sent[2]!.data.subarray(6).toString('latin1')).toBe('Kortet er utlopt');
  });
});
