import { describe, expect, it } from 'vitest';
import { PATRON_MESSAGES } from '../../src/contract/reasons.ts';
import { ALARM_LABELS, DICTIONARIES, FINDING_LABELS } from '../../src/web/i18n.ts';

/**
 * Danish words that are spelt as in Norwegian bokmål on purpose (a reviewer checked each). Anything else
 * equal in both is a Norwegian text left in the Danish dashboard.
 */
const SAME_IN_DA_AND_NB = new Set([
  'app.title',
  'common.from',
  'common.to',
  'common.door',
  'common.show',
  'common.time',
  'common.none',
  'common.yes',
  'common.card_hash',
  'common.previous',
  'common.actor',
  'common.action',
  'common.detail',
  'now.locked',
  'now.unlocked',
  'now.closed_door',
  'now.alarms',
  'now.no_alarms',
  'now.lock',
  'now.minutes',
  'mode.staffed',
  'entries.category',
  'entries.pseudonym',
  'entries.reveal',
  'cards.consent',
  'check.col.result',
  'check.col.detail',
  'check.row.library',
  'check.status.pass',
  'retention.camera',
  'retention.files',
  'retention.finding_detail',
  'retention.finding_count',
  'exports.cameras',
  'exports.state',
  'exports.sha256',
  'consent.kind',
  'consent.date',
  'consent.status',
  'consent.state.none',
  'audit.who.system',
  'audit.who.cli',
  'audit.card',
  'audit.door.manual_lock',
  'users.name',
  'users.role',
  'users.role.admin',
  'gdpr.erased',
  'lang.nb',
  'lang.da',
  'lang.en',
  // Tables outside the dictionary, keyed by their table.
  'alarm:ils_offline',
  'finding:stale_previews',
  'reason:fines',
  // Added with the block list, alarm history and states (checked: the same words in Danish).
  'access.passes',
  'access.no_passes',
  'access.card_shown',
  'access.kind',
  'access.hours',
  'access.remove',
  'access.removed',
  'emergency.until_date',
  'emergency.until_time',
  'emergency.history',
  'emergency.since',
  'emergency.until',
  'nav.alarms',
  'tile.locked',
  'tile.unlocked',
  'tile.state',
  'alarm.state.active',
  'alarms.kind',
  'alarms.all_kinds',
  'alarms.where',
  'alarms.site_wide',
  'alarms.state',
  'alarms.all_states',
  'alarms.none',
  'alarms.new',
  'entries.date',
  'state.staffed',
  'reason:blocked_locally',
]);

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dashboard texts in nb, da and en', () => {
  const { en, nb, da } = DICTIONARIES;
  const keys = Object.keys(en);

  it('every key exists, non-empty, in all three languages, with the same placeholders', () => {
    for (const [lang, dict] of Object.entries(DICTIONARIES)) {
      expect(Object.keys(dict).sort(), lang).toEqual([...keys].sort());
      for (const key of keys) {
        const text = (dict as Record<string, string>)[key]!;
        expect(text.trim(), `${lang} ${key}`).not.toBe('');
        expect(placeholders(text), `${lang} ${key}`).toEqual(
          placeholders((en as Record<string, string>)[key]!),
        );
      }
    }
  });

  it('no Danish text is the Norwegian one, except the words listed as the same in both', () => {
    const same = (table: string, entries: [string, { nb: string; da: string }][]) =>
      entries.filter(([, v]) => v.nb === v.da).map(([k]) => `${table}${k}`);
    const dictionary = keys.map((k): [string, { nb: string; da: string }] => [
      k,
      { nb: (nb as Record<string, string>)[k]!, da: (da as Record<string, string>)[k]! },
    ]);
    const found = [
      ...same('', dictionary),
      ...same('alarm:', Object.entries(ALARM_LABELS) as [string, { nb: string; da: string }][]),
      ...same('finding:', Object.entries(FINDING_LABELS)),
      ...same('reason:', Object.entries(PATRON_MESSAGES)),
    ];
    expect(found.filter((k) => !SAME_IN_DA_AND_NB.has(k))).toEqual([]);
    // A word listed here that now differs should leave the list (it would hide a later regression).
    expect([...SAME_IN_DA_AND_NB].filter((k) => !found.includes(k))).toEqual([]);
  });

  it('the words the issue found wrong in Danish are Danish now', () => {
    expect(da['now.live']).toBe('Hændelser');
    expect(da['now.open']).toBe('Åben');
    expect(da['common.no']).toBe('Nej');
    expect(nb['now.open']).toBe('Åpen');
  });

  it('alarm, finding and patron texts exist in all three languages', () => {
    for (const table of [ALARM_LABELS, FINDING_LABELS, PATRON_MESSAGES] as Record<
      string,
      Record<string, string>
    >[])
      for (const [code, words] of Object.entries(table))
        for (const lang of ['nb', 'da', 'en']) expect(words[lang]?.trim(), `${code} ${lang}`).toBeTruthy();
  });
});
