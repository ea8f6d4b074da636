/**
 * A fastify app with the dashboard's login, sessions, roles and CSRF guard: the site dashboard
 * (server.ts) and the fleet centre (src/fleet/web.ts) both build on it, so there is one login to audit.
 * Every route must declare its access level; all but `public` ones need a session.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { audit } from '../audit/audit.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import { trustProxyOption, type WebConfig } from './config.ts';
import { translator } from './i18n.ts';
import { loginPage, type Notice } from './layout.ts';
import { clientAddress, countLoginFailure, flushLoginAudit, LoginBackoff } from './login-guard.ts';
import { type Access, field, get, post } from './routing.ts';
import { SessionStore, tokensEqual } from './sessions.ts';
import { registerStatic } from './static.ts';
import { findUserByName, LANGUAGES, type Language, setLanguage, verifyUser } from './users.ts';

export interface RouteInfo {
  method: string;
  url: string;
  access: Access;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its access level, collected as routes are added (for tests and audits). */
    dorvaktRoutes: RouteInfo[];
  }
}

export type ErrorKey = 'error.forbidden' | 'error.csrf' | 'error.not_found';

export interface AuthedAppOptions {
  db: Db;
  web: WebConfig;
  log: Logger;
  siteName: string;
  language: Language;
  /** Where a signed-in user lands (after login, and from a language switch without a valid `back`). */
  home: string;
  /** The HTML error page for a signed-in user. */
  errorHtml: (req: FastifyRequest, key: ErrorKey) => string;
}

export interface AuthedApp {
  app: FastifyInstance;
  sessions: SessionStore;
}

const LOGIN_CSRF_COOKIE = 'dorvakt_login_csrf';
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host.startsWith('127.');

/** Where to listen: the configured host with TLS; loopback only without it. */
export function webListenOptions(web: WebConfig): { host: string; port: number; tls: boolean } {
  const tls = Boolean(web.tls_cert_file && web.tls_key_file);
  return { host: tls || isLoopback(web.host) ? web.host : '127.0.0.1', port: web.port, tls };
}

const sendPage = (reply: FastifyReply, body: string, status: number): FastifyReply =>
  reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

export async function createAuthedApp(options: AuthedAppOptions): Promise<AuthedApp> {
  const { db, web } = options;
  const { tls } = webListenOptions(web);
  const app = Fastify({
    loggerInstance: options.log,
    // Request logs would carry URLs and addresses; errors are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: web.body_limit_bytes,
    trustProxy: trustProxyOption(web.trust_proxy),
    // Long-lived SSE streams must not hold up shutdown.
    forceCloseConnections: true,
    ...(tls
      ? { https: { cert: readFileSync(web.tls_cert_file!), key: readFileSync(web.tls_key_file!) } }
      : {}),
  }) as unknown as FastifyInstance;

  const routes: RouteInfo[] = [];
  app.decorate('dorvaktRoutes', routes);
  app.decorateRequest('dorvaktSession', undefined);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access !== 'public' && access !== 'staff' && access !== 'admin') {
      throw new Error(`route ${String(route.method)} ${route.url} declares no access level`);
    }
    for (const method of [route.method].flat())
      routes.push({ method: String(method), url: route.url ?? '', access });
  });

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: web.body_limit_bytes });
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        ...(tls ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    hsts: tls ? { maxAge: 31536000 } : false,
    crossOriginEmbedderPolicy: false,
    // no-referrer would make Chrome send `Origin: null` on our own form posts.
    referrerPolicy: { policy: 'same-origin' },
  });

  const sessions = new SessionStore(db, web.session_ttl_minutes * 60_000);
  const backoff = new LoginBackoff(db, {
    perName: web.login_lockout_attempts,
    perAddress: web.login_ip_lockout_attempts,
    maxMinutes: web.login_lockout_minutes,
  });
  // One attempt per (name, address) at a time: parallel guesses would all pass the check before any failed.
  const loginsInFlight = new Set<string>();
  const cookieOptions = { path: '/', httpOnly: true, secure: tls, sameSite: 'strict' as const };
  const isApi = (req: FastifyRequest) => req.url.startsWith('/api/');
  const siteLang = options.language;

  const forbidden = (req: FastifyRequest, reply: FastifyReply, key: 'error.forbidden' | 'error.csrf') => {
    if (isApi(req) || !req.dorvaktSession)
      return reply.code(403).send({ error: key === 'error.csrf' ? 'csrf' : 'forbidden' });
    return sendPage(reply, options.errorHtml(req, key), 403);
  };

  // Authentication and roles, before the body is read: unknown routes too, so they reveal nothing.
  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access;
    if (access === 'public') return;
    const session = sessions.get(req.cookies[web.cookie_name]);
    if (!session) {
      if (isApi(req))
        return reply.code(401).header('cache-control', 'no-store').send({ error: 'unauthenticated' });
      return reply.redirect('/login', 303);
    }
    req.dorvaktSession = session;
    if (access === 'admin' && session.user.role !== 'admin') return forbidden(req, reply, 'error.forbidden');
  });

  // CSRF: a synchroniser token per session, in the form (_csrf) or the x-csrf-token header.
  app.addHook('preHandler', async (req, reply) => {
    const session = req.dorvaktSession;
    if (!session || !STATE_CHANGING.has(req.method)) return;
    const header = req.headers['x-csrf-token'];
    const token = typeof header === 'string' ? header : field(req.body, '_csrf', 200);
    if (!tokensEqual(token, session.csrfToken)) return forbidden(req, reply, 'error.csrf');
  });

  // An admin's change (a user disabled, say) may have ended sessions: their open streams end now.
  app.addHook('onResponse', async (req) => {
    if (req.dorvaktSession && STATE_CHANGING.has(req.method)) sessions.recheck();
  });

  app.setNotFoundHandler((req, reply) => {
    if (isApi(req) || !req.dorvaktSession) return reply.code(404).send({ error: 'not found' });
    return sendPage(reply, options.errorHtml(req, 'error.not_found'), 404);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500)
      req.log.error(
        { err: error.message, code: error.code, url: req.routeOptions.url },
        'web handler failed',
      );
    // Client errors say what was wrong with the request, never more.
    return reply
      .code(status)
      .send({ error: status === 500 ? 'internal error' : (error.code ?? 'bad request') });
  });

  get(app, 'public', '/healthz', async () => ({ ok: true }));
  registerStatic(app);

  // Login: a double-submit token guards against login CSRF before any session exists.
  const showLogin = (req: FastifyRequest, reply: FastifyReply, status: number, notice?: Notice) => {
    // Keep an existing token: a second login tab (or a stray redirect) must not invalidate the first form.
    const existing = req.cookies[LOGIN_CSRF_COOKIE];
    const loginCsrf =
      existing && /^[A-Za-z0-9_-]{32}$/.test(existing) ? existing : randomBytes(24).toString('base64url');
    reply.setCookie(LOGIN_CSRF_COOKIE, loginCsrf, { ...cookieOptions, path: '/login', maxAge: 3600 });
    return sendPage(
      reply,
      loginPage({ lang: siteLang, loginCsrf, notice, plainHttp: !tls, siteName: options.siteName }),
      status,
    );
  };
  get(app, 'public', '/login', async (req, reply) => {
    if (sessions.get(req.cookies[web.cookie_name])) return reply.redirect(options.home, 303);
    return showLogin(req, reply, 200);
  });
  app.route({
    method: 'POST',
    url: '/login',
    config: { access: 'public', rateLimit: { max: 30, timeWindow: '1 minute' } },
    handler: async (req, reply) => {
      const t = translator(siteLang);
      if (!tokensEqual(field(req.body, '_csrf', 200), req.cookies[LOGIN_CSRF_COOKIE])) {
        return showLogin(req, reply, 403, { kind: 'error', text: t('login.expired') });
      }
      const name = field(req.body, 'name', 64);
      const password = field(req.body, 'password', 1024);
      const ip = clientAddress(req.ip);
      // The audit names only users that exist, as stored; never what was typed.
      const knownUser = () => (name ? findUserByName(db, name)?.name : undefined);
      const key = `${name.toLowerCase()}\n${ip}`;
      const waitMs = backoff.waitMs(name, ip);
      if (waitMs > 0 || loginsInFlight.has(key)) {
        // Refused without checking the password: during a wait even the right one is refused.
        countLoginFailure(db, { ip, knownUser: knownUser(), refused: true });
        reply.header('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))));
        return showLogin(req, reply, 429, { kind: 'error', text: t('login.locked') });
      }
      loginsInFlight.add(key);
      let user: Awaited<ReturnType<typeof verifyUser>>;
      try {
        user = name && password ? await verifyUser(db, name, password) : undefined;
        if (user) backoff.recordSuccess(name, ip);
        else backoff.recordFailure(name, ip);
      } finally {
        loginsInFlight.delete(key);
      }
      if (!user) {
        countLoginFailure(db, { ip, knownUser: knownUser(), refused: false });
        return showLogin(req, reply, 401, { kind: 'error', text: t('login.failed') });
      }
      const { id } = sessions.create(user.id);
      audit(db, { actor: user.name, action: 'web.login', detail: { ip } });
      reply.clearCookie(LOGIN_CSRF_COOKIE, { ...cookieOptions, path: '/login' });
      reply.setCookie(web.cookie_name, id, { ...cookieOptions, maxAge: web.session_ttl_minutes * 60 });
      return reply.redirect(options.home, 303);
    },
  });
  post(app, 'staff', '/logout', async (req, reply) => {
    const session = req.dorvaktSession!;
    sessions.destroy(session.idHash);
    audit(db, { actor: session.user.name, action: 'web.logout' });
    reply.clearCookie(web.cookie_name, cookieOptions);
    return reply.redirect('/login', 303);
  });
  post(app, 'staff', '/me/language', async (req, reply) => {
    const language = field(req.body, 'language', 2) as Language;
    if (!LANGUAGES.includes(language)) return reply.code(400).send({ error: 'bad language' });
    setLanguage(db, req.dorvaktSession!.user.id, language);
    // Only a local path: never an open redirect.
    const back = field(req.body, 'back', 64);
    return reply.redirect(/^\/[a-z]+$/.test(back) ? back : options.home, 303);
  });

  // Expired sessions are swept now and then; reads already ignore them.
  const sweep = setInterval(() => sessions.prune(), 10 * 60_000);
  sweep.unref();
  // Failed-login counts reach the audit shortly after their window ends.
  const auditSweep = setInterval(() => flushLoginAudit(db), 60_000);
  auditSweep.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    clearInterval(auditSweep);
  });
  return { app, sessions };
}
