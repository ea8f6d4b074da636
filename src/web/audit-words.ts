/**
 * Audit rows as sentences staff read ("Kari (admin) withdrew camera consent for card 3f2a…"), with every
 * time in the site's zone. An action without a sentence shows its code and its details, times made local.
 */
import type { DorvaktConfig } from '../config/types.ts';
import { type Html, html } from './html.ts';
import type { MessageKey } from './i18n.ts';
import type { PageContext } from './layout.ts';
import { shortHash } from './routing.ts';
import type { Role } from './users.ts';
import { doorName } from './words.ts';

export interface AuditRow {
  id: number;
  ts: number;
  actor: string;
  action: string;
  subject: string | null;
  reason: string | null;
  detail: string | null;
}

/** Dashboard actions that repeat a controller row: the same sentence, marked as coming from the dashboard. */
const VIA_DASHBOARD: Record<string, string> = {
  'web.export_opened': 'nvr.export.open',
  'web.export_close': 'nvr.export.close',
  'web.export_renew': 'nvr.hold.renew',
};

const CARD_HASH = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export interface AuditWords {
  config: Pick<DorvaktConfig, 'doors'>;
  /** Current roles of dashboard users, to say "Kari (admin)". */
  roles: ReadonlyMap<string, Role>;
}

/** One value of a detail as words: times local, card hashes short and linked, door ids as names. */
function value(ctx: PageContext, words: AuditWords, key: string, v: unknown): Html | string {
  if (typeof v === 'number' && /At$|^(from|to|until|ts)$/.test(key) && v > 1e11) return ctx.fmt(v);
  if (typeof v === 'string' && ISO_TIME.test(v)) return ctx.fmt(v);
  if (typeof v === 'string' && CARD_HASH.test(v)) return cardLink(ctx, v);
  if (key === 'door' && typeof v === 'string') return doorName(words.config, v);
  if (key === 'role' || key === 'from' || key === 'to')
    if (v === 'admin' || v === 'staff') return ctx.t(`users.role.${v}`);
  if (Array.isArray(v)) return v.map(String).join(', ');
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function cardLink(ctx: PageContext, hash: string): Html {
  return html`<a href="/audit?subject=${hash}" class="hash" title="${hash}">${ctx.t('audit.card', { hash: shortHash(hash) })}</a>`;
}

function who(ctx: PageContext, words: AuditWords, actor: string): string {
  if (actor === 'system') return ctx.t('audit.who.system');
  if (actor.startsWith('cli:')) return ctx.t('audit.who.cli', { name: actor.slice(4) });
  const role = words.roles.get(actor);
  return role ? `${actor} (${ctx.t(`users.role.${role}`)})` : actor;
}

/** Fills `{name}` slots with escaped text or ready Html. */
function fill(template: string, vars: Record<string, Html | string>): Html {
  const parts = template.split(/\{(\w+)\}/);
  return html`${parts.map((part, i) => (i % 2 === 1 ? (vars[part] ?? '—') : part))}`;
}

function parseDetail(detail: string | null): Record<string, unknown> {
  if (!detail) return {};
  try {
    const parsed: unknown = JSON.parse(detail);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return { detail };
  }
}

/** The row as a sentence, or its action code with the details in words. */
export function auditSentence(ctx: PageContext, words: AuditWords, row: AuditRow): Html {
  const detail = parseDetail(row.detail);
  const action = VIA_DASHBOARD[row.action] ?? row.action;
  const key = `audit.${action}` as MessageKey;
  const template = ctx.t(key);
  const vars: Record<string, Html | string> = { who: who(ctx, words, row.actor) };
  for (const [k, v] of Object.entries(detail)) vars[k] = value(ctx, words, k, v);
  if (row.subject) {
    vars['subject'] = CARD_HASH.test(row.subject) ? cardLink(ctx, row.subject) : row.subject;
    if (CARD_HASH.test(row.subject)) vars['card'] = cardLink(ctx, row.subject);
    vars['door'] ??= doorName(words.config, row.subject);
  }
  if (template !== key) {
    const sentence = fill(template, vars);
    return row.action in VIA_DASHBOARD ? html`${sentence} ${ctx.t('audit.via_dashboard')}` : sentence;
  }
  const rest = Object.entries(detail).map(([k, v]) => html`${k}: ${value(ctx, words, k, v)}`);
  return html`${vars['who']}: <code>${row.action}</code>${row.subject ? html` · ${vars['subject']}` : ''}${rest.length ? html` <small>(${rest.map((r, i) => html`${i ? ', ' : ''}${r}`)})</small>` : ''}`;
}
