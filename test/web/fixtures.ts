import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Alarms } from '../../src/alarms/alarms.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { DorvaktConfig } from '../../src/config/types.ts';
import { Consents } from '../../src/consent/consents.ts';
import type { DoorPanel, DoorSnapshot } from '../../src/contract/door-panel.ts';
import {
  type ExportCase,
  type ExportOpenInput,
  ExportRefused,
  type NvrAdmin,
  type RetentionHealth,
} from '../../src/contract/nvr-admin.ts';
import { EmergencyModes } from '../../src/emergency/modes.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { createWebServer, type WebDeps } from '../../src/web/server.ts';
import { addUser } from '../../src/web/users.ts';
import { tempDir } from '../helpers/tmp.ts';

export const ADMIN = { name: 'anne', password: 'admin-password-123' };
export const STAFF = { name: 'sven', password: 'staff-password-456' };

export function testConfig(web: Record<string, unknown> = {}): DorvaktConfig {
  const yaml = `
site: { id: test, name: Testby bibliotek, timezone: Europe/Oslo, language: en }
secrets: { card_hmac_key: { env: DORVAKT_TEST_KEY } }
doors:
  - id: main
    name: Main door
    schedule: { staffed: "Mo-Fr 10:00-16:00", staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/null }
web: ${JSON.stringify({ port: 0, ...web })}
`;
  return parseConfig(yaml, 'test.yaml');
}

/** A door panel for the dashboard's side only; the real one is the door module's (lead's integration). */
export class MemoryDoorPanel implements DoorPanel {
  state: DoorSnapshot;
  constructor(readonly id: string) {
    this.state = {
      id,
      name: 'Main door',
      mode: 'staffless',
      locked: true,
      open: false,
      held: false,
      fireActive: false,
      manualUnlockUntil: null,
      nextChange: { mode: 'closed', at: new Date(Date.now() + 3_600_000).toISOString() },
    };
  }
  snapshot(): DoorSnapshot {
    return { ...this.state };
  }
  manualUnlock(minutes: number): void {
    this.state = {
      ...this.state,
      locked: false,
      manualUnlockUntil: new Date(Date.now() + minutes * 60_000).toISOString(),
    };
  }
  manualLock(): void {
    this.state = { ...this.state, locked: true, manualUnlockUntil: null };
  }
}

/** In-memory NvrAdmin for dashboard tests only; the real controller is src/nvr (lead's end-to-end). */
export class MemoryNvrAdmin implements NvrAdmin {
  readonly cases: ExportCase[] = [];
  retentionDays = 7;
  /** What the agent's last status reported, as a test sets it. */
  findings: RetentionHealth['findings'] = [];
  skipped: RetentionHealth['skipped'] = [];
  recorder: RetentionHealth['recorder'] = null;
  private next = 1;
  openExport(input: ExportOpenInput): ExportCase {
    const from = Date.parse(input.from);
    const to = Date.parse(input.to);
    if (!(from < to)) throw new ExportRefused('the window must end after it starts');
    const cutoff = Date.now() - this.retentionDays * 86_400_000;
    if (from < cutoff) {
      throw new ExportRefused(
        `the window starts before the ${this.retentionDays}-day retention; that footage is gone`,
        {
          code: 'before_retention',
          cutoff: new Date(cutoff).toISOString(),
          from: new Date(from).toISOString(),
          days: this.retentionDays,
        },
      );
    }
    const c: ExportCase = {
      id: `x${this.next++}`,
      caseNumber: input.caseNumber,
      authority: input.authority,
      from: input.from,
      to: input.to,
      cameras: input.cameras,
      reason: input.reason,
      state: 'held',
      location: null,
      sha256: null,
      files: null,
      error: null,
      openedBy: input.actor,
      openedAt: new Date().toISOString(),
      holdExpiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      closedAt: null,
    };
    this.cases.push(c);
    return c;
  }
  private find(id: string): ExportCase {
    const c = this.cases.find((x) => x.id === id);
    if (!c) throw new ExportRefused('no such export');
    return c;
  }
  closeExport(id: string): ExportCase {
    const c = this.find(id);
    c.state = 'closed';
    c.closedAt = new Date().toISOString();
    return c;
  }
  renewHold(id: string): ExportCase {
    const c = this.find(id);
    c.holdExpiresAt = new Date(Date.parse(c.holdExpiresAt) + 30 * 86_400_000).toISOString();
    return c;
  }
  listExports(): ExportCase[] {
    return [...this.cases];
  }
  health(): RetentionHealth {
    return {
      retentionDays: this.retentionDays,
      lastPurgeRequestAt: new Date(Date.now() - 600_000).toISOString(),
      lastPurgeAnsweredAt: new Date(Date.now() - 590_000).toISOString(),
      lastPurgeDeleted: 12,
      oldest: new Date(Date.now() - 6 * 86_400_000).toISOString(),
      cameras: [
        { name: 'entrance', oldest: new Date(Date.now() - 6 * 86_400_000).toISOString(), files: 340 },
        { name: 'hall', oldest: new Date(Date.now() - 6 * 86_400_000).toISOString(), files: 310 },
      ],
      statusAt: new Date().toISOString(),
      breach: this.findings.length > 0,
      unreachable: false,
      forgery: false,
      pendingRequests: 0,
      findings: this.findings,
      skipped: this.skipped,
      recorder: this.recorder,
    };
  }
}

export interface Harness {
  app: FastifyInstance;
  deps: WebDeps;
  db: Db;
  bus: EventBus;
  alarms: Alarms;
  door: MemoryDoorPanel;
  nvr: MemoryNvrAdmin;
  logLines: string[];
  close: () => Promise<void>;
}

export async function startHarness(
  options: { web?: Record<string, unknown>; config?: DorvaktConfig; nvr?: boolean; listen?: boolean } = {},
): Promise<Harness> {
  const dir = tempDir('dorvakt-web-');
  const db = openDb(`${dir.path}/dorvakt.sqlite`);
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const log = createLogger('info', sink);
  const bus = new EventBus();
  const alarms = new Alarms(db, bus, log);
  const door = new MemoryDoorPanel('main');
  const nvr = new MemoryNvrAdmin();
  const deps: WebDeps = {
    config: options.config ?? testConfig(options.web),
    db,
    bus,
    alarms,
    consents: new Consents(db),
    hashCard: cardHasher('test-site-key-0123456789'),
    doors: [door],
    nvr: options.nvr === false ? undefined : nvr,
    emergency: new EmergencyModes(db),
    log,
  };
  await addUser(db, { ...ADMIN, role: 'admin', language: 'en' });
  await addUser(db, { ...STAFF, role: 'staff', language: 'en' });
  const app = await createWebServer(deps);
  if (options.listen) await app.listen({ host: '127.0.0.1', port: 0 });
  else await app.ready();
  return {
    app,
    deps,
    db,
    bus,
    alarms,
    door,
    nvr,
    logLines,
    close: async () => {
      await app.close();
      db.close();
      dir.cleanup();
    },
  };
}

/** Cookie header value from set-cookie lines. */
export function cookiesFrom(setCookie: string | string[] | undefined): Record<string, string> {
  const list = setCookie === undefined ? [] : [setCookie].flat();
  const out: Record<string, string> = {};
  for (const line of list) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    out[pair!.slice(0, eq)] = pair!.slice(eq + 1);
  }
  return out;
}

export const cookieHeader = (cookies: Record<string, string>): string =>
  Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

export const form = (data: Record<string, string>): string => new URLSearchParams(data).toString();

export interface Login {
  cookie: string;
  csrf: string;
}

/** Logs in through the real login form; returns the session cookie header and the CSRF token. */
export async function login(
  app: FastifyInstance,
  user: { name: string; password: string },
  ip = '127.0.0.1',
): Promise<Login> {
  const page = await app.inject({ method: 'GET', url: '/login', remoteAddress: ip });
  const loginCookies = cookiesFrom(page.headers['set-cookie']);
  const loginCsrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: ip,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(loginCookies) },
    payload: form({ _csrf: loginCsrf, name: user.name, password: user.password }),
  });
  if (res.statusCode !== 303) throw new Error(`login failed: ${res.statusCode}`);
  const session = cookiesFrom(res.headers['set-cookie'])['dorvakt_session'];
  if (!session) throw new Error('no session cookie');
  const cookie = `dorvakt_session=${session}`;
  const now = await app.inject({ method: 'GET', url: '/now', headers: { cookie } });
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(now.body)?.[1];
  if (!csrf) throw new Error('no csrf token on /now');
  return { cookie, csrf };
}

/** One login attempt through the form from a client address (and headers, e.g. X-Forwarded-For); the raw answer. */
export async function loginAttempt(
  h: { app: FastifyInstance },
  name: string,
  password: string,
  ip: string,
  headers: Record<string, string> = {},
) {
  const page = await h.app.inject({ method: 'GET', url: '/login', remoteAddress: ip, headers });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return h.app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: ip,
    headers: {
      ...headers,
      'content-type': 'application/x-www-form-urlencoded',
      cookie: cookieHeader(cookiesFrom(page.headers['set-cookie'])),
    },
    payload: form({ _csrf: token, name, password }),
  });
}
