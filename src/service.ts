import { type App, type AppOptions, startApp } from './app.ts';
import { type OpsServer, startOpsServer } from './ops/server.ts';
import { startSystemdNotify } from './ops/systemd-notify.ts';
import { OptionalPart } from './lifecycle/optional-part.ts';
import { WalFallbackCheckpoint } from './store/wal-fallback.ts';
import { WorkerSupervisor } from './worker/supervisor.ts';

/** The parts other than the door may be down (port taken, …): then they are undefined and retried. */
export interface Service {
  app: App;
  readonly ops: OpsServer | undefined;
  readonly opsUrl: string | undefined;
  /** The worker process (dashboard, statistics, retention jobs). */
  worker: WorkerSupervisor;
  readonly webUrl: string | undefined;
  stop(timeoutMs?: number): Promise<void>;
}

/** systemd's TimeoutStopSec is longer: a stop that hangs still ends in our own exit. */
const STOP_TIMEOUT_MS = 15_000;

/** The whole service: the door loop plus its HTTP endpoints and background jobs. */
export async function startService(options: AppOptions): Promise<Service> {
  const app = await startApp(options);
  const { config, log } = options;
  const ops = new OptionalPart<OpsServer>({
    name: 'ops',
    start: () =>
      startOpsServer(
        {
          doors: () => app.doors.map((d) => d.snapshot()),
          alarms: () => app.alarms.list(),
          health: () => app.healthy(),
          metrics: app.metrics,
          beforeScrape: () => {
            const oldest = app.nvr?.health().oldest;
            if (oldest) app.metrics.oldestFootageSeconds.set((Date.now() - Date.parse(oldest)) / 1000);
            app.metrics.brokerUp.set(app.mqtt.connected ? 1 : 0);
          },
          startedAt: Date.now(),
        },
        config.ops.host,
        config.ops.port,
      ).then((server) => {
        log.info({ url: server.url }, 'ops endpoints: /healthz /api/state /metrics');
        return server;
      }),
    stop: (server) => server.close(),
    alarms: app.alarms,
    log,
  });
  await ops.begin();
  log.info({ readyMs: Math.round(performance.now()) }, 'service ready');
  // systemd Type=notify: READY now, WATCHDOG=1 only while the door loop is healthy (no-op outside systemd).
  const notify = startSystemdNotify({ health: () => app.healthy(), log: log.child({ mod: 'systemd' }) });
  notify?.ready(`${app.doors.length} door(s) ready`);
  // Dashboard, statistics and retention jobs run in the worker process: nothing there can delay a swipe.
  const worker = new WorkerSupervisor({
    config,
    bus: app.bus,
    alarms: app.alarms,
    doors: app.doors,
    nvr: () => app.nvrAdmin,
    emergency: {
      refresh: () => {
        app.emergencyWatcher.refresh();
      },
    },
    access: app.cardCheck,
    // Checked and applied in the worker; the door merges what it stored and counts its refusals.
    fleetRules: app.fleetRules
      ? {
          changed: (version) => app.fleetRules?.changed(version),
          rejected: (why) => app.metrics.fleetRulesRejected.inc({ why }),
        }
      : undefined,
    insideNow: config.occupancy?.enabled ? () => app.occupancy?.occupancy.insideNow() ?? null : undefined,
    log: log.child({ mod: 'worker' }),
    logLevel: log.level,
    logFile: options.logFile,
  });
  await worker.start();
  const walFallback = new WalFallbackCheckpoint(app.db, () => worker.running, log.child({ mod: 'store' }));
  walFallback.start();
  return {
    app,
    get ops() {
      return ops.current;
    },
    get opsUrl() {
      return ops.current?.url;
    },
    worker,
    get webUrl() {
      return worker.webUrl;
    },
    /** Stops in reverse order of start, each step guarded, the whole bounded by `timeoutMs`. */
    async stop(timeoutMs = STOP_TIMEOUT_MS) {
      notify?.stopping();
      const steps: [string, () => Promise<void> | undefined][] = [
        ['worker', () => worker.stop()],
        ['wal', async () => walFallback.stop()],
        ['ops', () => ops.end()],
        ['door', () => app.stop()],
        ['systemd', () => notify?.close()],
      ];
      const run = async () => {
        for (const [part, step] of steps) {
          try {
            await step();
          } catch (error) {
            log.error({ part, err: (error as Error).message }, 'stop step failed; going on');
          }
        }
      };
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
        timer.unref();
      });
      if ((await Promise.race([run(), late])) === 'late')
        log.error({ timeoutMs }, 'stop took too long; leaving the rest to the exit');
      clearTimeout(timer);
    },
  };
}
