import { join } from 'node:path';
import { afterEach, describe, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { MqttLink } from '../../src/events/mqtt-link.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDb } from '../../src/store/db.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function linked(broker: Broker): Promise<MqttLink> {
  const dir = tempDir('dorvakt-link-');
  const db = openDb(join(dir.path, 'store.db'));
  const bus = new EventBus();
  const log = createLogger('silent');
  const link = new MqttLink(
    { url: broker.url, baseTopic: 'dorvakt/test', clientId: `link-${process.pid}` },
    bus,
    new Alarms(db, bus, log),
    log,
  );
  link.start();
  await link.open();
  cleanups.push(() => {
    db.close();
    dir.cleanup();
  });
  await waitFor(() => link.connected, 5000, 'MQTT connected');
  return link;
}

describe('MqttLink.stop', () => {
  it('returns promptly when the broker hangs (no PUBACK for the offline status ever comes)', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const link = await linked(broker);
    broker.pause();
    cleanups.push(() => broker.resume());
    // Two bounded waits of 1 s each inside stop(); before the fix it never resolved, so this test timed out.
    await link.stop();
    await waitFor(() => !link.connected, 1000, 'the socket closed');
  });
});
