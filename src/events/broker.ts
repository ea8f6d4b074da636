import { createServer, connect as netConnect, type Server } from 'node:net';
import type { Logger } from '../log/logger.ts';

export interface BrokerChoice {
  kind: 'external' | 'embedded';
  url: string;
  close(): Promise<void>;
}

function listening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Uses the broker at `url` when one listens there (a local Mosquitto); otherwise, when allowed,
 * starts an embedded aedes broker on that port. Says which in the log.
 */
export async function chooseBroker(
  url: string,
  embeddedFallback: boolean,
  log: Logger,
): Promise<BrokerChoice> {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 1883);
  if (await listening(host, port)) {
    log.info({ broker: 'external', host, port }, `MQTT: using the broker already running at ${host}:${port}`);
    return { kind: 'external', url, close: async () => undefined };
  }
  if (!embeddedFallback || u.protocol !== 'mqtt:') {
    log.warn({ host, port }, 'MQTT: no broker answers yet; will keep trying');
    return { kind: 'external', url, close: async () => undefined };
  }
  // The embedded broker has no users, ACLs or TLS: it must never be reachable from the network.
  const bindTo = loopbackAddress(host);
  if (!bindTo) {
    log.error(
      { host, port },
      'MQTT: the embedded broker runs on loopback only; not starting it on a non-loopback address. Will keep trying the broker at the URL',
    );
    return { kind: 'external', url, close: async () => undefined };
  }
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bindTo, () => resolve());
  });
  log.info(
    { broker: 'embedded', host, port },
    `MQTT: no broker found, started an embedded broker (aedes, MQTT 3.1.1) on ${host}:${port}`,
  );
  return {
    kind: 'embedded',
    url,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
      }),
  };
}

/** The address to bind for a loopback host name, or null when the host is not loopback. */
export function loopbackAddress(host: string): string | null {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return '127.0.0.1';
  if (h === '::1') return '::1';
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return h;
  return null;
}
