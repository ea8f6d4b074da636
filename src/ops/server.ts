import Fastify, { type FastifyInstance } from 'fastify';
import type { DoorSnapshot } from '../contract/door-panel.ts';
import type { ActiveAlarm } from '../alarms/alarms.ts';
import type { Metrics } from './metrics.ts';

export interface OpsDeps {
  doors: () => DoorSnapshot[];
  alarms: () => ActiveAlarm[];
  health: () => { ok: boolean; checks: Record<string, boolean> };
  metrics: Metrics;
  /** Refreshes gauges that are read, not pushed (e.g. oldest footage). */
  beforeScrape?: () => void;
  startedAt: number;
}

/**
 * Machine endpoints without personal data: `/healthz`, `/api/state`, `/metrics`. Bound to loopback
 * (config ops.host) so that only the box itself and a local scraper/agent see them.
 */
export async function createOpsServer(deps: OpsDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  app.get('/healthz', async (_req, reply) => {
    const health = deps.health();
    return reply.code(health.ok ? 200 : 503).send({
      status: health.ok ? 'ok' : 'degraded',
      checks: health.checks,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
    });
  });
  app.get('/api/state', async () => ({
    doors: deps.doors(),
    alarms: deps.alarms().map((a) => ({
      id: a.id,
      code: a.code,
      door: a.door || null,
      raisedAt: new Date(a.raisedAt).toISOString(),
      acked: a.ackedAt !== null,
    })),
    ts: new Date().toISOString(),
  }));
  app.get('/metrics', async (_req, reply) => {
    deps.beforeScrape?.();
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  return app;
}
