import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActiveAlarm } from '../alarms/alarms.ts';
import type { DoorSnapshot } from '../contract/door-panel.ts';
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

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

type Answer = { status: number; type: string; body: string };

const json = (status: number, value: unknown): Answer => ({
  status,
  type: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});

/**
 * Machine endpoints without personal data: `/healthz`, `/api/state`, `/metrics`. Bound to loopback
 * (config ops.host) so that only the box itself and a local scraper/agent see them. Three read-only routes
 * need no framework: node:http keeps fastify off the controller when the dashboard is off (≈ 3.5 MB measured on import).
 */
export async function startOpsServer(deps: OpsDeps, host: string, port: number): Promise<OpsServer> {
  const routes: Record<string, () => Answer | Promise<Answer>> = {
    '/healthz': () => {
      const health = deps.health();
      return json(health.ok ? 200 : 503, {
        status: health.ok ? 'ok' : 'degraded',
        checks: health.checks,
        uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      });
    },
    '/api/state': () =>
      json(200, {
        doors: deps.doors(),
        alarms: deps.alarms().map((a) => ({
          id: a.id,
          code: a.code,
          door: a.door || null,
          raisedAt: new Date(a.raisedAt).toISOString(),
          acked: a.ackedAt !== null,
        })),
        ts: new Date().toISOString(),
      }),
    '/metrics': async () => {
      deps.beforeScrape?.();
      const { contentType, body } = await deps.metrics.scrape();
      return { status: 200, type: contentType, body };
    },
  };

  const answer = async (req: IncomingMessage): Promise<Answer> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return json(404, { error: 'not found' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'only GET' });
    return route();
  };

  const server = createServer({ maxHeaderSize: 8192 }, (req: IncomingMessage, res: ServerResponse) => {
    // Nothing here reads a body; a client that sends one gets its answer and the connection closed.
    req.resume();
    answer(req).then(
      (a) => send(res, a, req.method === 'HEAD'),
      (error: Error) => send(res, json(500, { error: error.message }), false),
    );
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, answer: Answer, headOnly: boolean): void {
  res.writeHead(answer.status, {
    'content-type': answer.type,
    'content-length': Buffer.byteLength(answer.body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(headOnly ? undefined : answer.body);
}
