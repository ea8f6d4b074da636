/**
 * Entry of the worker process: the dashboard, statistics and the retention jobs, on their own SQLite
 * connection (WAL), so nothing they do can delay a swipe in the door process. Started and supervised by
 * supervisor.ts; exits when the door process goes away.
 */
import type { AlarmCode } from '../contract/events.ts';
import { Consents } from '../consent/consents.ts';
import { readSecret } from '../config/secrets.ts';
import { EmergencyModes } from '../emergency/modes.ts';
import { EventBus } from '../events/bus.ts';
import { OptionalPart } from '../lifecycle/optional-part.ts';
import { pino } from 'pino';
import { createLogger } from '../log/logger.ts';
import { cardHasher } from '../privacy/card-hash.ts';
import { type RetentionJob, startRetentionJobs } from '../retention/jobs.ts';
import { openWorkerStore } from '../store/db.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import {
  DoorProcessLink,
  RemoteAlarms,
  RemoteDoorPanel,
  remoteCardCheck,
  RemoteOccupancy,
  remoteEmergencyRefresh,
  remoteNvrAdmin,
} from './remote.ts';

/**
 * The WAL is checkpointed here, never by the door's commits (store/db.ts). An anonymisation writes thousands
 * of pages a second: checkpointed often, each checkpoint stays short and the WAL never reaches the ceiling at
 * which this process's own commits would checkpoint. On an idle store a checkpoint finds nothing to copy.
 */
const CHECKPOINT_EVERY_MS = 1_000;
/** A door commit that meets one of our transactions waits about this long (SQLite's busy wait). */
const TRANSACTION_BUDGET_MS = 1;

const send = (message: FromWorker) => {
  if (process.connected) process.send?.(message);
};

async function run(init: Extract<ToWorker, { t: 'init' }>): Promise<void> {
  const { config } = init;
  const destination = init.logFile ? pino.destination({ dest: init.logFile, sync: false }) : undefined;
  const log = createLogger(init.logLevel, destination).child({ proc: 'worker' });
  const db = openWorkerStore(config.store.path);
  const link = new DoorProcessLink(send, init.state);
  const bus = new EventBus((error, event) =>
    log.error({ err: (error as Error)?.message ?? String(error), event: event.type }, 'event listener threw'),
  );
  const alarms = {
    raise: (code: AlarmCode, door = '', detail?: string) =>
      send({ t: 'alarm', action: 'raise', code, door, ...(detail ? { detail } : {}) }),
    clear: (code: AlarmCode, door = '') => send({ t: 'alarm', action: 'clear', code, door }),
  };

  let retention: ReturnType<typeof startRetentionJobs> | undefined;
  let web: OptionalPart<{ app: import('fastify').FastifyInstance; url: string }> | undefined;
  let fleet: OptionalPart<import('../fleet/branch.ts').BranchFleet> | undefined;
  let fleetRules: OptionalPart<import('../fleet-rules/worker-link.ts').FleetRulesLink> | undefined;
  let checkpoint: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(checkpoint);
      link.failAll('the worker is stopping');
      await retention?.stop();
      await fleetRules?.end();
      await fleet?.end();
      await web?.end();
      db.close();
      process.exit(0);
    })();
    return stopping;
  };
  const runJob = async (id: number, job: RetentionJob) => {
    try {
      const result = retention ? await retention.run(job) : undefined;
      send({ t: 'ran', id, result: result ?? null });
    } catch (error) {
      send({ t: 'ran', id, result: null, error: (error as Error).message });
    }
  };
  // The door process is gone (killed, crashed): nobody supervises this one, so it ends too.
  process.off('disconnect', exitAtOnce);
  process.on('disconnect', () => void stop());
  process.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'state':
        link.setState(message.state);
        return;
      case 'event':
        bus.publish(message.event);
        return;
      case 'reply':
        link.onReply(message);
        return;
      case 'ping':
        send({ t: 'pong', id: message.id });
        return;
      case 'run':
        void runJob(message.id, message.job);
        return;
      case 'stop':
        void stop();
        return;
    }
  });
  retention = startRetentionJobs({
    db,
    config,
    log: log.child({ mod: 'retention' }),
    transactionBudgetMs: TRANSACTION_BUDGET_MS,
  });
  web = config.web.enabled
    ? new OptionalPart({
        name: 'dashboard',
        start: async () => {
          const server = await (await import('../web/server.ts')).startWebServer({
            config,
            db,
            bus,
            alarms: new RemoteAlarms(link),
            consents: new Consents(db),
            hashCard: cardHasher(readSecret(config.secrets.card_hmac_key)),
            doors: config.doors.map((d) => new RemoteDoorPanel(d.id, link)),
            nvr: init.nvr ? remoteNvrAdmin(link) : undefined,
            emergency: new EmergencyModes(db),
            emergencyChanged: remoteEmergencyRefresh(link),
            cardCheck: remoteCardCheck(link),
            occupancy: config.occupancy?.enabled ? new RemoteOccupancy(link) : undefined,
            log: log.child({ mod: 'web' }),
          });
          log.info({ url: server.url }, 'dashboard listening');
          send({ t: 'web', url: server.url });
          return server;
        },
        stop: async (server) => {
          send({ t: 'web', url: null });
          await server.app.close();
        },
        alarms,
        log,
      })
    : undefined;
  await web?.begin();
  // Figures to the fleet centre and its alarm acknowledgements: here, never in the door process.
  fleet = config.fleet.enabled
    ? new OptionalPart({
        name: 'fleet',
        start: async () => {
          const { BranchFleet } = await import('../fleet/branch.ts');
          const { mqttTls } = await import('../events/mqtt-tls.ts');
          const tls = mqttTls(config.mqtt.tls);
          const branch = new BranchFleet({
            db,
            site: config.site.id,
            base: config.mqtt.base_topic ?? `dorvakt/${config.site.id}`,
            timezone: config.site.timezone,
            identifiedDays: config.entries.identified_days,
            config: config.fleet,
            mqttUrl: config.mqtt.url,
            mqttOptions: {
              ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
              ...(config.mqtt.password ? { password: readSecret(config.mqtt.password) } : {}),
              ...(tls ?? {}),
            },
            key: config.fleet.key ? Buffer.from(readSecret(config.fleet.key), 'utf8') : null,
            alarms: new RemoteAlarms(link),
            log: log.child({ mod: 'fleet' }),
            opening: {
              doors: config.doors,
              site: {
                timezone: config.site.timezone,
                country: config.site.country,
                region: config.site.region,
              },
            },
          });
          branch.start();
          return branch;
        },
        stop: (branch) => branch.stop(),
        alarms,
        log,
      })
    : undefined;
  await fleet?.begin();
  fleetRules = config.fleet?.rules_public_key_file
    ? await fleetRulesPart(config.fleet.rules_public_key_file)
    : undefined;
  await fleetRules?.begin();
  /**
   * The fleet's signed rules: checked and applied here, never on the door's event loop; the door process is
   * told when the exceptions it merges changed. An unusable key is a config error: the alarm, no retry.
   */
  async function fleetRulesPart(file: string) {
    const [{ FleetRulesLink }, { mqttTls }] = await Promise.all([
      import('../fleet-rules/worker-link.ts'),
      import('../events/mqtt-tls.ts'),
    ]);
    let link: import('../fleet-rules/worker-link.ts').FleetRulesLink;
    try {
      const tls = mqttTls(config.mqtt.tls);
      link = FleetRulesLink.create({
        db,
        site: config.site.id,
        publicKeyFile: file,
        topic: config.fleet.rules_topic,
        mqttUrl: config.mqtt.url,
        mqttOptions: {
          ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
          ...(config.mqtt.password ? { password: readSecret(config.mqtt.password) } : {}),
          ...(tls ?? {}),
        },
        alarms,
        log: log.child({ mod: 'fleet_rules' }),
        onRejected: (why) => send({ t: 'fleet_rules', event: 'rejected', why }),
        onChanged: (version) => send({ t: 'fleet_rules', event: 'changed', version }),
        transactionBudgetMs: TRANSACTION_BUDGET_MS,
      });
    } catch (error) {
      const message = `fleet rules: no usable public key: ${(error as Error).message}`;
      log.error({ mod: 'fleet_rules' }, message);
      alarms.raise('part_failed', 'fleet_rules', message.slice(0, 300));
      return undefined;
    }
    return new OptionalPart({
      name: 'fleet_rules',
      start: async () => {
        await link.start();
        return link;
      },
      stop: (running) => running.stop(),
      alarms,
      log,
    });
  }
  checkpoint = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'WAL checkpoint failed');
    }
  }, CHECKPOINT_EVERY_MS);
  checkpoint.unref();

  send({ t: 'ready', webUrl: web?.current?.url ?? null });
}

process.once('message', (message: ToWorker) => {
  if (message?.t !== 'init') {
    process.exit(2);
  }
  run(message).catch((error: Error) => {
    process.stderr.write(`dorvakt worker failed to start: ${error.message}\n`);
    process.exit(1);
  });
});
// Without the door process there is nothing to do.
const exitAtOnce = () => process.exit(0);
process.once('disconnect', exitAtOnce);
// Ctrl-C, or a signal sent to the whole process group, reaches the worker as well. Stopping it is the door
// process's job (in order, over IPC; SIGKILL if it hangs): dying first would raise a false part_failed and break
// off a job. Without its parent the worker still ends, on 'disconnect'.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
