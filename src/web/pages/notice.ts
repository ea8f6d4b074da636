import type { FastifyRequest } from 'fastify';
import type { MessageKey, Translate } from '../i18n.ts';
import type { Notice } from '../layout.ts';

/** After POST-redirect-GET a page shows a notice named in the query; only known keys are shown. */
const KEYS: Record<string, { kind: Notice['kind']; key: MessageKey }> = {
  done: { kind: 'ok', key: 'common.done' },
  reason: { kind: 'error', key: 'common.reason_required' },
  invalid: { kind: 'error', key: 'common.invalid' },
  signed: { kind: 'ok', key: 'consent.signed_ok' },
  withdrawn: { kind: 'ok', key: 'consent.withdrawn_ok' },
  erased: { kind: 'ok', key: 'gdpr.erased' },
};

export function noticeFromQuery(req: FastifyRequest, t: Translate): Notice | undefined {
  const name = (req.query as Record<string, unknown> | undefined)?.['n'];
  const entry = typeof name === 'string' && Object.hasOwn(KEYS, name) ? KEYS[name] : undefined;
  return entry ? { kind: entry.kind, text: t(entry.key) } : undefined;
}
