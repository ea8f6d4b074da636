import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { chooseBroker, loopbackAddress } from '../../src/events/broker.ts';
import { captureLog } from '../nvr/helpers.ts';
import { freePort } from '../helpers/ports.ts';

const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** An address of this machine that is not loopback, if it has one. */
const lanAddress = () =>
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe('the embedded broker is loopback only', () => {
  it('knows loopback names', () => {
    expect(loopbackAddress('localhost')).toBe('127.0.0.1');
    expect(loopbackAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(loopbackAddress('127.1.2.3')).toBe('127.1.2.3');
    expect(loopbackAddress('[::1]')).toBe('::1');
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'dorvakt-box.local', '127.0.0.1.evil.com', '']) {
      expect(loopbackAddress(h)).toBeNull();
    }
  });

  it('starts on loopback and is not reachable from another address', async () => {
    const port = await freePort();
    const { log } = captureLog();
    const broker = await chooseBroker(`mqtt://localhost:${port}`, true, log);
    try {
      expect(broker.kind).toBe('embedded');
      const client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      await client.endAsync();
      const lan = lanAddress();
      if (lan) expect(await reachable(lan, port)).toBe(false);
    } finally {
      await broker.close();
    }
  });

  it('refuses to start on a non-loopback address: logs it and keeps to the external broker', async () => {
    const port = await freePort();
    for (const host of ['0.0.0.0', lanAddress() ?? '192.0.2.1']) {
      const { log, lines } = captureLog();
      const broker = await chooseBroker(`mqtt://${host}:${port}`, true, log);
      expect(broker.kind).toBe('external');
      expect(lines.some((l) => l.level === 50 && /loopback only/.test(l.msg))).toBe(true);
      expect(await reachable('127.0.0.1', port)).toBe(false);
      await broker.close();
    }
  });
});
