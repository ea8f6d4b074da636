/** Both ends over a real Mosquitto TLS listener that requires client certificates (made with openssl). */
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { MqttLink, mqttTls } from '../../src/events/mqtt-link.ts';
import { makePki, startMosquittoConf } from '../helpers/mosquitto-conf.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  agentConfig,
  captureLog,
  DAY,
  frigatePath,
  listFiles,
  makeController,
  startAgent,
  testNvrConfig,
  writeSegment,
  filesRoot,
} from './helpers.ts';

const pki = tempDir('nvr-tls-');
let broker: Awaited<ReturnType<typeof startMosquittoConf>>;
const file = (name: string) => join(pki.path, name);

beforeAll(async () => {
  makePki(pki.path);
  broker = await startMosquittoConf(pki.path, (port) =>
    [
      `listener ${port} 127.0.0.1`,
      `cafile ${file('ca.pem')}`,
      `certfile ${file('server.pem')}`,
      `keyfile ${file('server.key')}`,
      'require_certificate true',
      'allow_anonymous true',
      'persistence false',
      'log_dest none',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await broker?.stop();
  pki.cleanup();
});

describe('mqtts:// with a CA, client certificate and key', () => {
  it('the controller and the agent talk over TLS; the purge is answered', async () => {
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const tls = { ca_file: file('ca.pem'), cert_file: file('client.pem'), key_file: file('client.key') };
    const tmp = tempDir('nvr-tls-run-');
    const { log, lines } = captureLog();
    const cfg = agentConfig(tmp.path, url);
    cfg.mqtt.base_topic = 'tls-nvr';
    cfg.mqtt.tls = { ...tls, reject_unauthorized: true };
    writeSegment(filesRoot(cfg), frigatePath('door', Date.now() - 9 * DAY));
    const agent = await startAgent(cfg, log);
    const bus = new EventBus();
    const link = new MqttLink(
      {
        url,
        baseTopic: 'dorvakt/tls',
        clientId: `tls-ctl-${process.pid}`,
        tls: mqttTls({ ...tls, reject_unauthorized: true }),
      },
      bus,
      new Alarms(null, bus, log),
      log,
    );
    const rig = makeController(
      join(tmp.path, 'db.sqlite'),
      await link.open(),
      log,
      testNvrConfig({ base_topic: 'tls-nvr' }),
    );
    try {
      await waitFor(() => link.connected, 5000, 'controller connected over TLS');
      await waitFor(
        () => lines.some((l) => l.msg === 'connected to broker'),
        5000,
        'agent connected over TLS',
      );
      rig.controller.start();
      const id = rig.controller.purgeNow();
      await waitFor(
        () =>
          (
            rig.db.prepare('SELECT answered_at FROM nvr_outbox WHERE id = ?').get(id) as {
              answered_at: number | null;
            }
          ).answered_at,
        5000,
        'answer over TLS',
      );
      expect(listFiles(filesRoot(cfg))).toEqual([]);
    } finally {
      await rig.close();
      await link.stop();
      await agent.stop();
      tmp.cleanup();
    }
  });

  it('the broker refuses a client without a certificate; an unknown CA is refused unless reject_unauthorized is false', async () => {
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const base = { reconnectPeriod: 0, connectTimeout: 2000 };
    const noCert = mqttTls({ ca_file: file('ca.pem'), reject_unauthorized: true });
    await expect(connectAsync(url, { ...base, ...noCert })).rejects.toThrow();
    const noCa = mqttTls({
      cert_file: file('client.pem'),
      key_file: file('client.key'),
      reject_unauthorized: true,
    });
    await expect(connectAsync(url, { ...base, ...noCa })).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
    const lax = mqttTls({
      cert_file: file('client.pem'),
      key_file: file('client.key'),
      reject_unauthorized: false,
    });
    const client = await connectAsync(url, { ...base, ...lax });
    expect(client.connected).toBe(true);
    await client.endAsync();
  });
});
