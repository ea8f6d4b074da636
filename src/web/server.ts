import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createAuthedApp, isLoopback, webListenOptions } from './auth-app.ts';
import { errorPage } from './layout.ts';
import { registerAdminRoutes } from './pages/admin.ts';
import { registerAlarmRoutes } from './pages/alarms.ts';
import { registerCardCheckRoutes } from './pages/card-check.ts';
import { registerCardRoutes } from './pages/cards.ts';
import { registerEmergencyRoutes } from './pages/emergency.ts';
import { registerLocalAccessRoutes } from './pages/local-access.ts';
import { registerNowRoutes } from './pages/now.ts';
import { registerPrivacyRoutes } from './pages/privacy.ts';
import { registerRetentionRoutes } from './pages/retention.ts';
import { registerSettingsRoutes } from './pages/settings.ts';
import { registerStatsRoutes } from './pages/stats.ts';
import { ctxOf, get, type RouteEnv, type WebDeps } from './routing.ts';

export type { WebDeps } from './routing.ts';
export type { Access } from './routing.ts';

export type { RouteInfo } from './auth-app.ts';
export { webListenOptions };

export async function createWebServer(deps: WebDeps): Promise<FastifyInstance> {
  let env: RouteEnv | undefined;
  const { app, sessions } = await createAuthedApp({
    db: deps.db,
    web: deps.config.web,
    log: deps.log.child({ mod: 'web' }),
    siteName: deps.config.site.name,
    language: deps.config.site.language,
    home: '/now',
    errorHtml: (req, key) => errorPage(ctxOf(env!, req, ''), key),
  });
  const pseudonymKey = randomBytes(32);
  env = {
    deps,
    sessions,
    pseudonym: (entryId, cardHash) =>
      cardHash
        ? `P-${createHmac('sha256', pseudonymKey).update(`${entryId}:${cardHash}`).digest('hex').slice(0, 6)}`
        : '—',
  };
  get(app, 'staff', '/', async (_req, reply) => reply.redirect('/now', 303));

  registerNowRoutes(app, env);
  registerAlarmRoutes(app, env);
  registerSettingsRoutes(app, env);
  registerCardRoutes(app, env);
  registerCardCheckRoutes(app, env);
  registerRetentionRoutes(app, env);
  registerAdminRoutes(app, env);
  registerStatsRoutes(app, env);
  registerPrivacyRoutes(app, env);
  registerLocalAccessRoutes(app, env);
  registerEmergencyRoutes(app, env);

  return app;
}

/** Creates the server and listens; without TLS only on loopback, with a warning. Returns the base URL. */
export async function startWebServer(deps: WebDeps): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createWebServer(deps);
  const { host, port, tls } = webListenOptions(deps.config.web);
  if (
    typeof deps.config.web.trust_proxy === 'number' &&
    deps.config.web.trust_proxy > 0 &&
    !isLoopback(host)
  ) {
    deps.log.warn(
      { host },
      'web.trust_proxy is a hop count and the dashboard is reachable from the network: a client that reaches it directly can pick its address; give the proxy addresses instead',
    );
  }
  if (!tls) {
    deps.log.warn(
      { host, configuredHost: deps.config.web.host },
      'dashboard without TLS: listening on loopback only; configure web.tls_cert_file and web.tls_key_file to serve the network',
    );
  }
  try {
    const address = await app.listen({ host, port });
    return { app, url: address };
  } catch (error) {
    // A taken port: close what was built (SSE bus listeners, the session sweep) before the next try.
    await app.close().catch(() => undefined);
    throw error;
  }
}
