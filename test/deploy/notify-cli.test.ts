import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { spawnService, writeFaultConfig } from '../faults/service-child.ts';
import { type NotifySocket, startNotifySocket } from './notify-socket.ts';

describe('the real CLI under a Type=notify unit', () => {
  let broker: Broker;
  let pty: PtyPair;
  let socket: NotifySocket;
  let dir: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    [broker, pty, socket] = await Promise.all([startMosquitto(), createPtyPair(), startNotifySocket()]);
    dir = tempDir('notify-cli-');
  });
  afterAll(async () => {
    await socket?.close();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('sends READY=1 once the door is up, feeds the watchdog, and STOPPING=1 on SIGTERM', async () => {
    const config = writeFaultConfig({ dir: dir.path, readerPath: pty.devicePath, mqttUrl: broker.url });
    const child = spawnService(config, {
      NOTIFY_SOCKET: socket.path,
      WATCHDOG_USEC: '400000',
      WATCHDOG_PID: '',
    });
    try {
      await waitFor(() => socket.assignments().includes('READY=1'), 20_000, 'READY=1');
      expect(child.count('door ready')).toBe(1);
      expect(socket.assignments()).toContain('STATUS=1 door(s) ready');
      await waitFor(
        () => socket.assignments().filter((a) => a === 'WATCHDOG=1').length >= 3,
        10_000,
        'watchdog feeds',
      );
      expect(await child.stop()).toBe(0);
      expect(socket.assignments()).toContain('STOPPING=1');
      expect(socket.assignments().indexOf('STOPPING=1')).toBeGreaterThan(
        socket.assignments().indexOf('READY=1'),
      );
    } finally {
      await child.kill9();
    }
  });
});
