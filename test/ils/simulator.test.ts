import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameSplitter } from '../../src/ils/codec.ts';
import { scStatusRequest } from '../../src/ils/messages.ts';
import { type Sip2Simulator, startSip2Simulator } from '../../src/ils/simulator.ts';
import { waitFor } from '../helpers/ports.ts';

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

  it('runs as its own process and takes faults on stdin', async () => {
    const main = fileURLToPath(new URL('../../src/ils/simulator-main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--encoding', 'utf8'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      const listening = await waitFor(() => /listening [^:]+:(\d+)/.exec(out) ?? false, 10_000, 'listening');
      const port = Number(listening[1]);
      const status = encodeFrame(scStatusRequest(), { encoding: 'utf8', errorDetection: true, seq: 1 });
      expect((await exchange(port, [status], 1))[0]).toMatch(/^98Y/);
      child.stdin.write('fault request_resend\n');
      await waitFor(() => out.includes('fault request_resend'), 5000, 'fault set');
      expect((await exchange(port, [status], 1))[0]).toMatch(/^96/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
