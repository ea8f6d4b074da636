import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveAlarm } from '../alarms/alarms.ts';
import type { DorvaktConfig } from '../config/types.ts';
import type { Consents } from '../consent/consents.ts';
import type { CardCheckAccess } from '../contract/card-check.ts';
import type { DoorPanel } from '../contract/door-panel.ts';
import type { NvrAdminAccess } from '../contract/nvr-admin.ts';
import type { EmergencyModes } from '../emergency/modes.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { cardMatchesADoor } from '../reader/card-match.ts';
import { MAX_LINE } from '../reader/frames.ts';
import type { Db } from '../store/db.ts';
import { alarmSummary } from './alarm-view.ts';
import { type PageContext, pageContext } from './layout.ts';
import type { OccupancySource } from './occupancy.ts';
import type { Session, SessionStore } from './sessions.ts';

/** Who may call a route: everyone, signed-in staff (and admins), or admins only. */
export type Access = 'public' | 'staff' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    dorvaktSession: Session | undefined;
  }
}

export interface WebDeps {
  config: DorvaktConfig;
  db: Db;
  bus: EventBus;
  alarms: AlarmsAccess;
  consents: Consents;
  hashCard: (card: string) => string;
  doors: DoorPanel[];
  nvr?: NvrAdminAccess | undefined;
  /** The site's emergency mode (src/emergency): read for the banner, set on its page. */
  emergency?: EmergencyModes | undefined;
  /** Tells the door process the emergency mode changed, so it publishes it now (else within seconds). */
  emergencyChanged?: (() => Promise<void>) | undefined;
  /** Where "inside now" comes from; none yet, and the Now page hides the slot without one. */
  occupancy?: OccupancySource | undefined;
  /** The desk's card check, answered by the door process. */
  cardCheck?: CardCheckAccess | undefined;
  log: Logger;
}

/** The door process's alarms as the dashboard reaches them (in the worker process: a mirror and calls). */
export interface AlarmsAccess {
  /** Active alarms and cleared ones nobody has acknowledged yet. */
  unresolved(): ActiveAlarm[];
  acknowledge(id: number, user: string): boolean | Promise<boolean>;
  /** Called when that list may have changed (raised, cleared, acknowledged). */
  onChange(listener: () => void): () => void;
}

export interface RouteEnv {
  deps: WebDeps;
  sessions: SessionStore;
  /** Short per-entry pseudonym; unlinkable across entries and restarts. */
  pseudonym: (entryId: number, cardHash: string | null) => string;
}

export type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;

export function get(app: FastifyInstance, access: Access, url: string, handler: Handler): void {
  app.route({ method: 'GET', url, config: { access }, handler: handler as never });
}

export function post(app: FastifyInstance, access: Access, url: string, handler: Handler): void {
  app.route({ method: 'POST', url, config: { access }, handler: handler as never });
}

/** The signed-in user's session; the auth hook guarantees it on non-public routes. */
export function sessionOf(req: FastifyRequest): Session {
  const session = req.dorvaktSession;
  if (!session) throw new Error('no session on an authenticated route');
  return session;
}

export function ctxOf(env: RouteEnv, req: FastifyRequest, path: string): PageContext {
  const session = sessionOf(req);
  return pageContext({
    user: session.user,
    csrf: session.csrfToken,
    timeZone: env.deps.config.site.timezone,
    siteName: env.deps.config.site.name,
    path,
    consentSignRole: env.deps.config.web.consent_sign_role,
    emergency: env.deps.emergency?.current(new Date()) ?? null,
    alarms: alarmSummary(env.deps.config, env.deps.alarms.unresolved(), session.user.language),
  });
}

/** One form or query field as a trimmed string ('' when absent); the first when repeated. */
export function field(source: unknown, name: string, maxLength = 1000): string {
  if (!source || typeof source !== 'object') return '';
  let value = (source as Record<string, unknown>)[name];
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'number' || typeof value === 'boolean') value = String(value);
  if (typeof value !== 'string') return '';
  return value.trim().slice(0, maxLength);
}

/** Every value of a repeated field (checkboxes). */
export function fields(source: unknown, name: string): string[] {
  if (!source || typeof source !== 'object') return [];
  const value = (source as Record<string, unknown>)[name];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.filter((v): v is string => typeof v === 'string').map((v) => v.trim());
}

export const sendHtml = (reply: FastifyReply, body: string, status = 200): FastifyReply =>
  reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

/** Why a card field was refused, as a message for the form. */
export type CardRefusal = 'common.invalid' | 'common.card_no_door';

/**
 * A card typed at the desk (hashed here, never kept) or a card hash carried over from another screen.
 * A typed card no door would accept is refused, so nothing is stored or looked up for it.
 */
export function cardHashFrom(env: RouteEnv, body: unknown): { hash: string } | { refused: CardRefusal } {
  const hash = field(body, 'card_hash', 64).toLowerCase();
  if (/^[0-9a-f]{64}$/.test(hash)) return { hash };
  // Read past the reader's limit so that an over-long card is refused, not cut to fit.
  const card = field(body, 'card', MAX_LINE + 1);
  if (!card || card.length > MAX_LINE || !/^[\x20-\x7e]+$/.test(card)) return { refused: 'common.invalid' };
  if (!cardMatchesADoor(env.deps.config.doors, card)) return { refused: 'common.card_no_door' };
  return { hash: env.deps.hashCard(card) };
}

export const shortHash = (hash: string): string => `${hash.slice(0, 12)}…`;
