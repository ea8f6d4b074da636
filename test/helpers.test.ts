import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startMosquitto } from './helpers/mosquitto.ts';
import { createPtyPair } from './helpers/pty.ts';
import { readFileSync, openSync, readSync, closeSync } from 'node:fs';

describe('test helpers', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => broker.stop());

  it('mosquitto round-trips a message', async () => {
    const client = connect(broker.url);
    const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())));
    await client.subscribeAsync('t/x');
    await client.publishAsync('t/x', 'hello');
    expect(await got).toBe('hello');
    await client.endAsync();
  });

  it('socat pty carries bytes from host to device', async () => {
    const pty = await createPtyPair();
    const fd = openSync(pty.devicePath, 'r');
    pty.write('1234\r\n');
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf);
    closeSync(fd);
    expect(buf.subarray(0, n).toString()).toBe('1234\r\n');
    await pty.close();
    expect(() => readFileSync(pty.devicePath)).toThrow();
  });
});
