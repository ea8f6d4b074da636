/** The controller's side for occupancy tests: a store, the bus, alarms and a real MQTT link, plus an observer. */
import { connectAsync, type MqttClient } from 'mqtt';
import { Alarms } from '../../src/alarms/alarms.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { EventBus } from '../../src/events/bus.ts';
import { MqttLink } from '../../src/events/mqtt-link.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDb } from '../../src/store/db.ts';
import { waitFor } from '../helpers/ports.ts';

export async function controllerRig(options: {
  brokerUrl: string;
  prefix: string;
  dir: string;
  cleanups: (() => unknown)[];
  /** What the observer subscribes to. */
  observe: string;
}) {
  const { cleanups, prefix } = options;
  const base = `${prefix}/dorvakt`;
  const db = openDb(`${options.dir}/store.sqlite`);
  cleanups.push(() => db.close());
  const log = createLogger('silent');
  const bus = new EventBus();
  const events: DorvaktEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const alarms = new Alarms(db, bus, log);
  const link = new MqttLink(
    { url: options.brokerUrl, baseTopic: base, clientId: `${prefix}-ctl`, protocolVersion: 5 },
    bus,
    alarms,
    log,
  );
  link.start();
  await link.open();
  cleanups.push(() => link.stop());
  await waitFor(() => link.connected, 5000, 'link connected');
  const observer: MqttClient = await connectAsync(options.brokerUrl, { protocolVersion: 5 });
  cleanups.push(() => observer.endAsync());
  const seen: { topic: string; payload: string }[] = [];
  observer.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  await observer.subscribeAsync(options.observe);
  return { base, db, log, bus, events, alarms, link, observer, seen };
}
