/** An MQTT client that reconnects on its own and warns once per outage, not at every reconnect attempt. */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log/logger.ts';

export function connectWarningOncePerOutage(
  url: string,
  options: IClientOptions,
  log: Logger,
  what: string,
): MqttClient {
  const client = connect(url, { reconnectPeriod: 2000, ...options });
  let quiet = false;
  client.on('connect', () => {
    quiet = false;
  });
  client.on('error', (error) => {
    if (quiet) return;
    quiet = true;
    log.warn({ err: error.message }, `${what}: broker error; retrying`);
  });
  return client;
}
