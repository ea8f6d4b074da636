import type { FastifyInstance } from 'fastify';
import { type App, type AppOptions, startApp } from './app.ts';
import { createOpsServer } from './ops/server.ts';

export interface Service {
  app: App;
  ops: FastifyInstance;
  opsUrl: string;
  stop(): Promise<void>;
}

/** The whole service: the door loop plus its HTTP endpoints and background jobs. */
export async function startService(options: AppOptions): Promise<Service> {
  const app = await startApp(options);
  const { config, log } = options;
  const ops = await createOpsServer({
    doors: () => app.doors.map((d) => d.snapshot()),
    alarms: () => app.alarms.list(),
    health: () => app.healthy(),
    metrics: app.metrics,
    startedAt: Date.now(),
  });
  const opsUrl = await ops.listen({ host: config.ops.host, port: config.ops.port });
  log.info({ url: opsUrl }, 'ops endpoints: /healthz /api/state /metrics');
  log.info({ doors: app.doors.length, readyMs: Math.round(performance.now()) }, 'door ready');
  return {
    app,
    ops,
    opsUrl,
    async stop() {
      await ops.close();
      await app.stop();
    },
  };
}
