/** Audit rows of the block list, passes, emergency mode and alarms read as sentences, never as codes. */
import { describe, expect, it } from 'vitest';
import { type AuditRow, auditSentence } from '../../src/web/audit-words.ts';
import { translator } from '../../src/web/i18n.ts';
import type { PageContext } from '../../src/web/layout.ts';

const HASH = 'a'.repeat(64);
const words = {
  config: { doors: [{ id: 'front', name: 'Front door' }] } as never,
  roles: new Map([['anne', 'admin' as const]]),
};
const ctx = (lang: 'en' | 'nb' | 'da') =>
  ({ t: translator(lang), lang, fmt: () => 'LOCALTIME' }) as unknown as PageContext;
const row = (action: string, detail: object, subject: string | null = HASH): AuditRow => ({
  id: 1,
  ts: 0,
  actor: 'anne',
  action,
  subject,
  reason: null,
  detail: JSON.stringify(detail),
});

const ROWS: AuditRow[] = [
  row('block.added', { hint: '…01', doors: 'all', expiresAt: '2026-12-31T22:59:00.000Z' }),
  row('block.replaced', { hint: '…01', doors: ['front'], expiresAt: '2026-12-31T22:59:00.000Z' }),
  row('block.removed', { hint: '…01' }),
  row('block.expired_removed', { hint: '…01', expiredAt: '2026-12-31T22:59:00.000Z' }),
  row('pass.added', {
    hint: '…02',
    kind: 'cleaner',
    doors: 'all',
    hours: 'Mo-Fr 06:00-08:00',
    expiresAt: '2027-01-31T22:59:00.000Z',
  }),
  row('pass.replaced', {
    hint: '…02',
    kind: 'cleaner',
    doors: 'all',
    hours: 'Mo-Fr 06:00-08:00',
    expiresAt: '2027-01-31T22:59:00.000Z',
  }),
  row('pass.removed', { hint: '…02', kind: 'cleaner' }),
  row('pass.expired_removed', { hint: '…02', expiredAt: '2027-01-31T22:59:00.000Z' }),
  row('emergency.set', { mode: 'nobody', until: '2026-12-01T06:00:00.000Z', replaced: null }, null),
  row('emergency.ended', { mode: 'nobody', id: 3 }, null),
  row('alarm.acknowledged', { code: 'door_forced', door: 'front' }, '7'),
];

describe('audit sentences for the block list, passes, emergency mode and alarms', () => {
  for (const lang of ['en', 'nb', 'da'] as const) {
    it(`${lang}: each is a sentence with its card hint, times local and door names`, () => {
      for (const r of ROWS) {
        const text = String(auditSentence(ctx(lang), words, r));
        expect(text, r.action).not.toContain(`<code>${r.action}</code>`);
        if (!r.action.endsWith('expired_removed')) expect(text, r.action).toContain('anne (');
        if (r.action.startsWith('block') || r.action.startsWith('pass'))
          expect(text, r.action).toMatch(/…0[12]/);
        expect(text, r.action).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
      }
      expect(String(auditSentence(ctx(lang), words, ROWS.at(-1)!))).toContain('Front door');
    });
  }
});
