import { Alarms } from '../../src/alarms/alarms.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { EventBus } from '../../src/events/bus.ts';
import { ilsConfigWithDefaults, type IlsConfig } from '../../src/ils/config.ts';
import { createIlsPatronSource, type Sip2PatronSource } from '../../src/ils/source.ts';
import {
  type Sip2Simulator,
  type Sip2SimulatorOptions,
  startSip2Simulator,
} from '../../src/ils/simulator.ts';
import { createLogger } from '../../src/log/logger.ts';

export const silentLog = createLogger('silent');

export interface Rig {
  sim: Sip2Simulator;
  source: Sip2PatronSource;
  config: IlsConfig;
  alarms: Alarms;
  events: DorvaktEvent[];
  close(): Promise<void>;
}

/** A simulator with login required, and a source pointed at it with short timeouts and no cache. */
export async function rig(
  simOptions: Sip2SimulatorOptions = {},
  overrides: Partial<IlsConfig> = {},
): Promise<Rig> {
  const sim = await startSip2Simulator({ user: 'door', password: 'pw', ...simOptions });
  const config = ilsConfigWithDefaults({
    host: sim.host,
    port: sim.port,
    institution: 'DEMO',
    user: 'door',
    password: { env: 'SIP_TEST_PASSWORD' },
    encoding: sim.encoding,
    error_detection: sim.errorDetection,
    // Generous for a loaded CI box; tests about timeouts set their own.
    connect_timeout_ms: 2000,
    request_timeout_ms: 2000,
    heartbeat_seconds: 0,
    cache_seconds: 0,
    circuit: { failure_threshold: 3, backoff_min_ms: 50, backoff_max_ms: 200 },
    ...overrides,
  });
  const bus = new EventBus();
  const events: DorvaktEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const alarms = new Alarms(null, bus, silentLog);
  const source = createIlsPatronSource(config, {
    log: silentLog,
    alarms,
    readSecret: () => 'pw',
    warmUp: false,
  });
  return {
    sim,
    source,
    config,
    alarms,
    events,
    async close() {
      await source.close();
      await sim.close();
    },
  };
}
