import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameSplitter } from '../../src/ils/codec.ts';
import { scStatusRequest } from '../../src/ils/messages.ts';
import { type Sip2Simulator, startSip2Simulator } from '../../src/ils/simulator.ts';

let sim: Sip2Simulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

/** Sends raw frames and collects the simulator's answers. */
async function exchange(port: number, frames: Buffer[], expected: number): Promise<string[]> {
  const socket = connect({ host: '127.0.0.1', port });
  const splitter = new FrameSplitter();
  const answers: string[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      for (const frame of splitter.push(chunk)) answers.push(frame.toString('latin1'));
      if (answers.length >= expected) resolve();
    });
    socket.on('connect', () => {
      for (const frame of frames) socket.write(frame);
    });
  });
  socket.destroy();
  return answers;
}

describe('SIP2 simulator', () => {
  it('asks the terminal to resend (96) when our checksum is wrong, then answers the resend', async () => {
    sim = await startSip2Simulator();
    const good = encodeFrame(scStatusRequest(), { encoding: 'cp850', errorDetection: true, seq: 4 });
    const bad = Buffer.from(good);
    bad[bad.length - 2] = bad[bad.length - 2] === 0x30 ? 0x31 : 0x30;
    const answers = await exchange(sim.port, [bad, good], 2);
    expect(answers[0]).toMatch(/^96AZ[0-9A-F]{4}$/);
    expect(decodeFrame(Buffer.from(answers[1]!, 'latin1'), 'cp850')).toMatchObject({
      seq: 4,
      checksumOk: true,
      message: { code: '98' },
    });
  });

  it('drops a patron request before login when a login is required', async () => {
    sim = await startSip2Simulator({ user: 'u', password: 'p' });
    const request = Buffer.from('6300020260101    000000          AODEMO|AA10000001|AC|AY0AZ', 'latin1');
    const socket = connect({ host: '127.0.0.1', port: sim.port });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('connect', () => socket.write(Buffer.concat([request, Buffer.from('\r')])));
    await closed;
    expect(sim.stats.patronRequests).toBe(0);
  });

  it('a fault with `times` clears itself', async () => {
    sim = await startSip2Simulator({ fault: { mode: 'crlf', times: 1 } });
    const frame = (seq: number) =>
      encodeFrame(scStatusRequest(), { encoding: 'cp850', errorDetection: true, seq });
    expect(sim.fault).not.toBeNull();
    await exchange(sim.port, [frame(0), frame(1)], 2);
    expect(sim.fault).toBeNull();
  });
});
