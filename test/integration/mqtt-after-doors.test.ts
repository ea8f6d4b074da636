/**
 * The doors start before MQTT: the broker choice (which may wait on the network) and mqtt.js come after
 * "door ready", and what the doors publish meanwhile still reaches the broker, in order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('MQTT after the doors', () => {
  const dir = tempDir('mqtt-after-');
  let broker: Broker | undefined;
  let reader: PtyPair | undefined;
  let app: App | undefined;
  afterAll(async () => {
    await app?.stop();
    await reader?.close();
    await broker?.stop();
    dir.cleanup();
  });

  it('logs door ready before choosing a broker, and sends the events published meanwhile', async () => {
    [broker, reader] = await Promise.all([startMosquitto(), createPtyPair()]);
    writeFileSync(join(dir.path, 'key'), 'after-site-key-0123456789abcdef');
    const config = parseConfig(`
site: { id: after, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "24/7", holidays_closed: false }
    reader: { path: ${reader.devicePath} }
    hardware: { driver: sim }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
log: { level: info }
`);
    const watcher = await connectAsync(broker.url);
    const events: { type: string; door?: string }[] = [];
    watcher.on('message', (_topic, payload) => events.push(JSON.parse(payload.toString())));
    await watcher.subscribeAsync('dorvakt/after/event', { qos: 1 });

    const lines: { msg: string }[] = [];
    const log = createLogger('info', { write: (line: string) => lines.push(JSON.parse(line)) });
    app = await startApp({ config, log });
    const order = lines.map((l) => l.msg);
    const ready = order.indexOf('door ready');
    const brokerChosen = order.findIndex((m) => m.startsWith('MQTT: using the broker'));
    expect(ready).toBeGreaterThanOrEqual(0);
    expect(brokerChosen).toBeGreaterThan(ready);
    // The door's first state event was published before the link had a client: it arrives all the same.
    await waitFor(
      () => events.some((e) => e.type === 'door' && e.door === 'front'),
      5000,
      'the early door event',
    );
    await watcher.endAsync();
  });
});
