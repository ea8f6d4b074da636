import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NotifySocket, startNotifySocket } from '../deploy/notify-socket.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fill } from './fill.ts';
import { seedPatrons, spawnService, writeFaultConfig } from './service-child.ts';

/**
 * The real CLI as systemd runs it (NOTIFY_SOCKET, WATCHDOG_USEC), its store on a small tmpfs: when the
 * disk fills, the store fails, and the watchdog stops being fed (systemd would restart the service);
 * when space returns and a swipe commits, feeding resumes.
 */
const CARD = '10000001';

describe('watchdog follows the store health of the real service', () => {
  let broker: Broker;
  let pty: PtyPair;
  let socket: NotifySocket;
  let dir: ReturnType<typeof tempDir>;
  let disk: string;

  beforeAll(async () => {
    [broker, pty, socket] = await Promise.all([startMosquitto(), createPtyPair(), startNotifySocket()]);
    dir = tempDir('watchdog-');
    disk = join(dir.path, 'disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0700', 'tmpfs', disk]);
  });
  afterAll(async () => {
    await socket?.close();
    await pty?.close();
    await broker?.stop();
    if (disk) execFileSync('umount', ['-l', disk]);
    dir?.cleanup();
  });

  it('withholds WATCHDOG=1 while the store cannot write, and says why', async () => {
    const config = writeFaultConfig({ dir: dir.path, readerPath: pty.devicePath, mqttUrl: broker.url });
    // The store lives on the small disk.
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(
        `store: { path: ${join(dir.path, 'store.sqlite')} }`,
        `store: { path: ${join(disk, 'store.sqlite')} }`,
      ),
    );
    seedPatrons(join(disk, 'store.sqlite'), [CARD]);
    const child = spawnService(config, { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '200000' });
    const feeds = (from = 0) =>
      socket
        .assignments()
        .slice(from)
        .filter((a) => a === 'WATCHDOG=1').length;
    try {
      await waitFor(() => socket.assignments().includes('READY=1'), 20_000, 'READY=1');
      await child.waitForLog('card reader online');
      await waitFor(() => feeds() >= 2, 5000, 'fed while healthy');

      const filler = join(disk, 'filler');
      fill(filler);
      pty.write(`${CARD}\r\n`);
      await child.waitForLog('swipe denied: store_unavailable');
      const marker = await waitFor(
        () => socket.assignments().indexOf('STATUS=watchdog withheld: unhealthy: store') + 1,
        5000,
        'withheld status',
      );
      await new Promise((r) => setTimeout(r, 600)); // three watchdog periods
      expect(feeds(marker)).toBe(0);

      rmSync(filler);
      pty.write(`${CARD}\r\n`);
      await child.waitForLog('swipe granted: allow');
      await waitFor(() => feeds(marker) >= 2, 5000, 'fed again after recovery');
      expect(socket.assignments().slice(marker)).toContain('STATUS=running');
      expect(await child.stop()).toBe(0);
    } finally {
      await child.kill9();
    }
  });
});
