/**
 * docs/mosquitto/mosquitto.conf and acl, run by a real Mosquitto: the controller's user may publish only
 * requests, the agent's only answers and status, Frigate's only its recording state and availability. What the
 * docs show is what is tested.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, mosquittoPasswd, startMosquittoConf } from '../helpers/mosquitto-conf.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('nvr-acl-');
const nvr = 'dorvakt/hovedbiblioteket/nvr';
const users = {
  dorvakt: 'pw-controller-1',
  'nvr-agent': 'pw-agent-2',
  homeassistant: 'pw-ha-3',
  frigate: 'pw-frigate-4',
};
let broker: Awaited<ReturnType<typeof startMosquittoConf>>;
let tlsPort = 0;

beforeAll(async () => {
  mkdirSync(join(dir.path, 'certs'));
  makePki(join(dir.path, 'certs'));
  writeFileSync(join(dir.path, 'dorvakt.acl'), readFileSync('docs/mosquitto/acl'));
  mosquittoPasswd(join(dir.path, 'dorvakt.passwd'), users);
  const conf = readFileSync('docs/mosquitto/mosquitto.conf', 'utf8');
  expect(conf).toContain('listener 1883 127.0.0.1\n');
  expect(conf).toContain('listener 8883\n');
  const { freePort } = await import('../helpers/ports.ts');
  tlsPort = await freePort();
  broker = await startMosquittoConf(dir.path, (port) =>
    conf
      .replaceAll('/etc/mosquitto/', `${dir.path}/`)
      .replace('listener 1883 127.0.0.1\n', `listener ${port} 127.0.0.1\n`)
      .replace('listener 8883\n', `listener ${tlsPort} 127.0.0.1\n`),
  );
});
afterAll(async () => {
  await broker?.stop();
  dir.cleanup();
});

async function as(user: keyof typeof users | null, over: IClientOptions = {}): Promise<MqttClient> {
  const client = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 2000,
    ...(user ? { username: user, password: users[user] } : {}),
    ...over,
  });
  client.on('error', () => undefined);
  return client;
}

/** Publishes as `from` and reports whether `to`, subscribed to the topic, received it. */
async function delivered(from: MqttClient, to: MqttClient, topic: string): Promise<boolean> {
  const got: string[] = [];
  const marker = `m-${Math.random()}`;
  to.on('message', (t, p) => {
    if (t === topic && p.toString() === marker) got.push(marker);
  });
  await to.subscribeAsync(topic, { qos: 1 });
  // Mosquitto answers an unauthorised MQTT 5 publish with PUBACK reason 0x87; mqtt.js rejects then.
  await from.publishAsync(topic, marker, { qos: 1 }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 200));
  await to.unsubscribeAsync(topic);
  return got.length > 0;
}

describe('the documented Mosquitto ACL', () => {
  it('the controller publishes requests and reads answers and status; the agent the reverse', async () => {
    const controller = await as('dorvakt');
    const agent = await as('nvr-agent');
    try {
      expect(await delivered(controller, agent, `${nvr}/purge/request`)).toBe(true);
      expect(await delivered(controller, agent, `${nvr}/export/request`)).toBe(true);
      expect(await delivered(agent, controller, `${nvr}/purge/response`)).toBe(true);
      expect(await delivered(agent, controller, `${nvr}/export/response`)).toBe(true);
      expect(await delivered(agent, controller, `${nvr}/status`)).toBe(true);
    } finally {
      await controller.endAsync();
      await agent.endAsync();
    }
  });

  it('the agent cannot publish a request; the controller cannot publish a status or an answer', async () => {
    const controller = await as('dorvakt');
    const agent = await as('nvr-agent');
    try {
      // The agent may read requests: it would see its own forged one if the broker let it through.
      expect(await delivered(agent, agent, `${nvr}/purge/request`)).toBe(false);
      expect(await delivered(agent, agent, `${nvr}/export/request`)).toBe(false);
      expect(await delivered(controller, controller, `${nvr}/status`)).toBe(false);
      expect(await delivered(controller, controller, `${nvr}/purge/response`)).toBe(false);
      // Nor may either write the other's base, or read what is not theirs.
      const ha = await as('homeassistant');
      // The agent cannot pose as the controller: Home Assistant (which reads <base>/status) sees nothing.
      expect(await delivered(agent, ha, 'dorvakt/hovedbiblioteket/status')).toBe(false);
      expect(await delivered(controller, ha, 'dorvakt/hovedbiblioteket/status')).toBe(true);
      expect(await delivered(ha, agent, `${nvr}/purge/request`)).toBe(false);
      expect(await delivered(controller, ha, `${nvr}/purge/request`)).toBe(false);
      await ha.endAsync();
    } finally {
      await controller.endAsync();
      await agent.endAsync();
    }
  });

  it("Home Assistant reads the controller's info and events; only the controller publishes them", async () => {
    const controller = await as('dorvakt');
    const agent = await as('nvr-agent');
    const ha = await as('homeassistant');
    try {
      for (const topic of ['dorvakt/hovedbiblioteket/info', 'dorvakt/hovedbiblioteket/event']) {
        expect(await delivered(controller, ha, topic), topic).toBe(true);
        expect(await delivered(agent, ha, topic), topic).toBe(false);
        expect(await delivered(ha, ha, topic), topic).toBe(false);
      }
    } finally {
      for (const c of [controller, agent, ha]) await c.endAsync();
    }
  });

  it('the recording schedule: the controller asks Frigate and reads its answer; only Frigate answers', async () => {
    const controller = await as('dorvakt');
    const frigate = await as('frigate');
    const agent = await as('nvr-agent');
    const ha = await as('homeassistant');
    const cam = 'frigate/_back/recordings';
    try {
      expect(await delivered(controller, frigate, `${cam}/set`)).toBe(true);
      expect(await delivered(frigate, controller, `${cam}/state`)).toBe(true);
      expect(await delivered(frigate, controller, 'frigate/available')).toBe(true);
      // The controller reads state and available, so it would see its own forgery if the broker let it through.
      expect(await delivered(controller, controller, `${cam}/state`)).toBe(false);
      expect(await delivered(controller, controller, 'frigate/available')).toBe(false);
      // No other role may switch recording or speak for Frigate.
      for (const other of [agent, ha]) {
        expect(await delivered(other, frigate, `${cam}/set`)).toBe(false);
        expect(await delivered(other, controller, `${cam}/state`)).toBe(false);
        expect(await delivered(other, controller, 'frigate/available')).toBe(false);
      }
      // Frigate may not touch Dørvakt's topics.
      expect(await delivered(frigate, agent, `${nvr}/purge/request`)).toBe(false);
      expect(await delivered(frigate, ha, 'dorvakt/hovedbiblioteket/status')).toBe(false);
    } finally {
      for (const c of [controller, frigate, agent, ha]) await c.endAsync();
    }
  });

  it("docs/mqtt.md's ACL example is the file's lines for the roles it shows", () => {
    const byUser = (text: string) => {
      const out = new Map<string, string[]>();
      let user = '';
      for (const line of text.split('\n').map((l) => l.trim())) {
        if (line.startsWith('user ')) {
          user = line.slice(5);
          out.set(user, []);
        } else if (line.startsWith('topic ')) out.get(user)?.push(line);
      }
      return out;
    };
    const doc = readFileSync('docs/mqtt.md', 'utf8');
    const security = doc.slice(doc.indexOf('## Security'));
    const shown = byUser(/```text\n([\s\S]*?)```/.exec(security)?.[1] ?? '');
    const file = byUser(readFileSync('docs/mosquitto/acl', 'utf8'));
    expect([...shown.keys()]).toEqual(['dorvakt', 'nvr-agent', 'frigate']);
    for (const [user, lines] of shown) expect(lines).toEqual(file.get(user));
  });

  it('refuses anonymous clients and wrong passwords; the network listener wants a client certificate', async () => {
    await expect(as(null)).rejects.toThrow();
    await expect(as('dorvakt', { password: 'wrong' })).rejects.toThrow();
    const certs = join(dir.path, 'certs');
    const tls = {
      protocolVersion: 5 as const,
      reconnectPeriod: 0,
      connectTimeout: 2000,
      ...{ username: 'nvr-agent', password: users['nvr-agent'] },
    };
    const url = `mqtts://127.0.0.1:${tlsPort}`;
    await expect(connectAsync(url, { ...tls, ca: readFileSync(join(certs, 'ca.pem')) })).rejects.toThrow();
    const agent = await connectAsync(url, {
      ...tls,
      ca: readFileSync(join(certs, 'ca.pem')),
      cert: readFileSync(join(certs, 'client.pem')),
      key: readFileSync(join(certs, 'client.key')),
    });
    expect(agent.connected).toBe(true);
    await agent.endAsync();
  });
});
