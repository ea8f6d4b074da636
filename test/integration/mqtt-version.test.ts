import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Service, startService } from '../../src/service.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

/** `mqtt.protocol_version: 4` lets the controller talk MQTT 3.1.1 to an external broker. */
describe('mqtt.protocol_version', () => {
  const dir = tempDir('mqttv-');
  let broker: Broker | undefined;
  let reader: PtyPair | undefined;
  let service: Service | undefined;
  afterAll(async () => {
    await service?.stop();
    await reader?.close();
    await broker?.stop();
    dir.cleanup();
  });

  it('connects with MQTT 3.1.1 when asked, and publishes its retained status', async () => {
    [broker, reader] = await Promise.all([startMosquitto(), createPtyPair()]);
    writeFileSync(join(dir.path, 'key'), 'mqttv-site-key-0123456789abcdef');
    const config = parseConfig(`
site: { id: mqttv, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "24/7", holidays_closed: false }
    reader: { path: ${reader.devicePath} }
    hardware: { driver: sim }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}", protocol_version: 4 }
ops: { port: ${await freePort()} }
web: { enabled: false }
log: { level: silent }
`);
    expect(() =>
      parseConfig(
        `site: { id: x }\nsecrets: { card_hmac_key: { file: k } }\ndoors: []\nmqtt: { url: "mqtt://h", protocol_version: 3 }\n`,
      ),
    ).toThrow(/protocol_version/);
    service = await startService({ config, log: createLogger('silent') });
    await waitFor(() => service!.app.mqtt.connected, 5000, 'connected');
    expect(service.app.mqtt.client.options.protocolVersion).toBe(4);
    const watcher = await connectAsync(broker.url, { protocolVersion: 4 });
    const statuses: string[] = [];
    watcher.on('message', (_t, payload) => statuses.push(payload.toString()));
    await watcher.subscribeAsync('dorvakt/mqttv/status');
    await waitFor(() => statuses.includes('online'), 5000, 'the retained status');
    await watcher.endAsync();
  });
});
