/** `dorvakt fleet --config FILE`: the centre (MQTT reader and its store) and its dashboard in one process. */
import { readSecret } from '../config/secrets.ts';
import { mqttTls } from '../events/mqtt-tls.ts';
import type { Logger } from '../log/logger.ts';
import type { FleetCentreConfig } from './central-config.ts';
import { openFleetDb } from './central-store.ts';
import { FleetCentre } from './centre.ts';
import { startFleetWeb } from './web.ts';

export interface FleetService {
  centre: FleetCentre;
  url: string | null;
  stop(): Promise<void>;
}

export async function startFleetService(input: {
  config: FleetCentreConfig;
  log: Logger;
}): Promise<FleetService> {
  const { config, log } = input;
  const db = openFleetDb(config.store.path);
  const keys = new Map<string, Buffer>();
  for (const site of config.sites) if (site.key) keys.set(site.id, Buffer.from(readSecret(site.key), 'utf8'));
  const tls = mqttTls(config.mqtt.tls);
  const centre = new FleetCentre({
    config,
    db,
    log: log.child({ mod: 'fleet' }),
    keys,
    mqttOptions: {
      ...(config.mqtt.password ? { password: readSecret(config.mqtt.password) } : {}),
      ...(tls ?? {}),
    },
  });
  centre.start();
  const web = config.web.enabled ? await startFleetWeb({ config, db, centre, log }) : undefined;
  if (web) log.info({ url: web.url }, 'fleet dashboard listening');
  return {
    centre,
    url: web?.url ?? null,
    async stop() {
      await web?.app.close();
      await centre.stop();
      db.close();
    },
  };
}
