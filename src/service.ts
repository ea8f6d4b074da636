import type { FastifyInstance } from 'fastify';
import { type App, type AppOptions, startApp } from './app.ts';
import { type OpsServer, startOpsServer } from './ops/server.ts';
import { startSystemdNotify } from './ops/systemd-notify.ts';

export interface Service {
  app: App;
  ops: OpsServer;
  opsUrl: string;
  web: FastifyInstance | undefined;
  webUrl: string | undefined;
  stop(): Promise<void>;
}

/** The whole service: the door loop plus its HTTP endpoints and background jobs. */
export async function startService(options: AppOptions): Promise<Service> {
  const app = await startApp(options);
  const { config, log } = options;
  // Readers are open and relays locked: swipes are decided from here on.
  log.info({ doors: app.doors.length, readyMs: Math.round(performance.now()) }, 'door ready');
  const ops = await startOpsServer(
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
  );
  const opsUrl = ops.url;
  log.info({ url: opsUrl }, 'ops endpoints: /healthz /api/state /metrics');
  // The dashboard and the privacy jobs come after the door is ready: a slow start of theirs never delays it.
  // Loaded only now, so their modules (fastify plugins, argon2, pages) are not on the path to door-ready.
  const { startRetentionJobs } = await import('./retention/jobs.ts');
  const web = config.web.enabled
    ? await (await import('./web/server.ts')).startWebServer({
        config,
        db: app.db,
        bus: app.bus,
        alarms: app.alarms,
        consents: app.consents,
        hashCard: app.hashCard,
        doors: app.doors,
        nvr: app.nvr,
        log: log.child({ mod: 'web' }),
      })
    : undefined;
  if (web) log.info({ url: web.url }, 'dashboard listening');
  const retention = startRetentionJobs({ db: app.db, config, log: log.child({ mod: 'retention' }) });
  log.info({ readyMs: Math.round(performance.now()) }, 'service ready');
  // systemd Type=notify: READY now, WATCHDOG=1 only while the door loop is healthy (no-op outside systemd).
  const notify = startSystemdNotify({ health: () => app.healthy(), log: log.child({ mod: 'systemd' }) });
  notify?.ready(`${app.doors.length} door(s) ready`);
  return {
    app,
    ops,
    opsUrl,
    web: web?.app,
    webUrl: web?.url,
    async stop() {
      notify?.stopping();
      await retention.stop();
      await web?.app.close();
      await ops.close();
      await app.stop();
      await notify?.close();
    },
  };
}
