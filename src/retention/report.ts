import { audit } from '../audit/audit.ts';
import { PATRON_MESSAGES, type Reason } from '../contract/reasons.ts';
import type { Db } from '../store/db.ts';
import { readCardFromDoorJournal, takeCardFromDoorJournal } from '../store/door-journal.ts';
import { foldCardEntries } from './anonymise.ts';
import { newTombstone, tombstoneAuditRows } from './tombstone.ts';

/** Times are ISO 8601 UTC strings; the report is plain JSON. */
export interface AccessReport {
  cardHash: string;
  generatedAt: string;
  entries: {
    id: number;
    at: string;
    door: string;
    mode: string;
    outcome: string;
    reason: string;
    category: string | null;
    ageBand: string | null;
    source: string | null;
  }[];
  consents: {
    id: number;
    kind: string;
    action: string;
    version: string | null;
    at: string;
    registeredBy: string;
    registeredAt: string;
  }[];
  /** The local patron registry row, if any. */
  registry: {
    category: string | null;
    birthYear: number | null;
    blocked: boolean;
    cardLost: boolean;
    expiresDate: string | null;
    createdAt: string;
    lastActivityAt: string;
  } | null;
  /** Last successful live check against the library system (offline policy). */
  patronSeen: { lastLiveOkAt: string; category: string | null; birthYear: number | null } | null;
  pinFailures: { at: string }[];
  /** Audit rows naming the card (subject, reason or detail), including the read that produced this report. */
  audit: {
    id: number;
    at: string;
    actor: string;
    action: string;
    subject: string | null;
    reason: string | null;
    detail: unknown;
  }[];
}

export interface ReportOptions {
  /** Who asked (user name, 'cli:<user>'); goes to the audit log. */
  actor?: string;
  reason?: string;
  now?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function parseDetail(detail: string | null): unknown {
  if (detail === null) return null;
  try {
    return JSON.parse(detail);
  } catch {
    return detail;
  }
}

/**
 * GDPR access report for one card hash: every row Dørvakt holds about it. The read itself is audited
 * (action 'privacy.report') before the data is gathered, so the report lists its own read.
 */
export function accessReport(db: Db, cardHash: string, options: ReportOptions = {}): AccessReport {
  const now = options.now ?? Date.now();
  return db.transaction((): AccessReport => {
    audit(
      db,
      {
        actor: options.actor ?? 'system',
        action: 'privacy.report',
        subject: cardHash,
        reason: options.reason,
      },
      now,
    );
    const entries = db
      .prepare(
        `SELECT id, ts, door, mode, outcome, reason, category, age_band, source FROM entries
          WHERE card_hash = ? ORDER BY ts, id`,
      )
      .all(cardHash) as {
      id: number;
      ts: number;
      door: string;
      mode: string;
      outcome: string;
      reason: string;
      category: string | null;
      age_band: string | null;
      source: string | null;
    }[];
    const consents = db
      .prepare(
        'SELECT id, kind, action, version, at, registered_by, registered_at FROM consents WHERE card_hash = ? ORDER BY id',
      )
      .all(cardHash) as {
      id: number;
      kind: string;
      action: string;
      version: string | null;
      at: number;
      registered_by: string;
      registered_at: number;
    }[];
    const patron = db
      .prepare(
        `SELECT category, birth_year, blocked, card_lost, expires_date, created_at, last_activity_at
           FROM patrons WHERE card_hash = ?`,
      )
      .get(cardHash) as
      | {
          category: string | null;
          birth_year: number | null;
          blocked: number;
          card_lost: number;
          expires_date: string | null;
          created_at: number;
          last_activity_at: number;
        }
      | undefined;
    const seen = db
      .prepare('SELECT last_live_ok_at, category, birth_year FROM patron_seen WHERE card_hash = ?')
      .get(cardHash) as
      | { last_live_ok_at: number; category: string | null; birth_year: number | null }
      | undefined;
    const pins = db
      .prepare('SELECT ts FROM pin_failures WHERE card_hash = ? ORDER BY ts')
      .pluck()
      .all(cardHash) as number[];
    // What the door has not handed on yet (a swipe of the last moments, or all of them while the store was
    // unwritable): read while this transaction holds the store's lock, so nothing moves meanwhile.
    const journal = readCardFromDoorJournal(db.name, cardHash);
    const inStore = new Set(entries.map((e) => e.id));
    for (const e of journal.entries) if (!inStore.has(e.id)) entries.push(e);
    entries.sort((a, b) => a.ts - b.ts || a.id - b.id);
    for (const ts of journal.pinFailures) if (!pins.includes(ts)) pins.push(ts);
    pins.sort((a, b) => a - b);
    const lastSeen =
      journal.seen && (!seen || journal.seen.last_live_ok_at > seen.last_live_ok_at) ? journal.seen : seen;
    const lastActivityAt = Math.max(patron?.last_activity_at ?? 0, journal.activityAt ?? 0);
    const audits = db
      .prepare(
        `SELECT id, ts, actor, action, subject, reason, detail FROM audit
          WHERE subject = @card OR instr(detail, @card) > 0 OR instr(reason, @card) > 0 ORDER BY id`,
      )
      .all({ card: cardHash }) as {
      id: number;
      ts: number;
      actor: string;
      action: string;
      subject: string | null;
      reason: string | null;
      detail: string | null;
    }[];

    return {
      cardHash,
      generatedAt: iso(now),
      entries: entries.map((e) => ({
        id: e.id,
        at: iso(e.ts),
        door: e.door,
        mode: e.mode,
        outcome: e.outcome,
        reason: e.reason,
        category: e.category,
        ageBand: e.age_band,
        source: e.source,
      })),
      consents: consents.map((c) => ({
        id: c.id,
        kind: c.kind,
        action: c.action,
        version: c.version,
        at: iso(c.at),
        registeredBy: c.registered_by,
        registeredAt: iso(c.registered_at),
      })),
      registry: patron
        ? {
            category: patron.category,
            birthYear: patron.birth_year,
            blocked: patron.blocked !== 0,
            cardLost: patron.card_lost !== 0,
            expiresDate: patron.expires_date,
            createdAt: iso(patron.created_at),
            lastActivityAt: iso(lastActivityAt),
          }
        : null,
      patronSeen: lastSeen
        ? {
            lastLiveOkAt: iso(lastSeen.last_live_ok_at),
            category: lastSeen.category,
            birthYear: lastSeen.birth_year,
          }
        : null,
      pinFailures: pins.map((ts) => ({ at: iso(ts) })),
      audit: audits.map((a) => ({
        id: a.id,
        at: iso(a.ts),
        actor: a.actor,
        action: a.action,
        subject: a.subject,
        reason: a.reason,
        detail: parseDetail(a.detail),
      })),
    };
  })();
}

export interface EraseResult {
  /** Replaces the card hash in the audit trail, including the erasure's own audit row. */
  tombstone: string;
  /** Identified entries folded into anonymous statistics and deleted. */
  entries: number;
  consents: number;
  patrons: number;
  patronSeen: number;
  pinFailures: number;
  /** Earlier audit rows that named the card and now carry the tombstone. */
  auditTombstoned: number;
  /** Id of the audit row recording the erasure. */
  auditId: number;
}

export interface EraseOptions {
  /** Site time zone for the statistics buckets the entries fold into (config site.timezone). */
  timezone?: string;
  now?: number;
}

/**
 * Erases one card: its entries become anonymous hourly counts, and its consents, registry row, last live
 * check and PIN failures are deleted. Audit rows are kept (they prove what staff did) but every mention of
 * the hash is replaced by a fresh random tombstone, and one more row records the erasure under that
 * tombstone with the counts: the trail proves the erasure without keeping the identity. One transaction.
 */
export function eraseCard(
  db: Db,
  cardHash: string,
  actor: string,
  reason: string,
  options: EraseOptions = {},
): EraseResult {
  if (!cardHash) throw new Error('card hash required');
  if (!reason.trim()) throw new Error('an erasure needs a reason');
  const timezone = options.timezone ?? 'Europe/Oslo';
  return db.transaction((): EraseResult => {
    // What the door has not handed on yet, taken while this transaction holds the store's lock (the door's
    // delivery needs it), and counted with the rest.
    const insert = db.prepare(
      `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
       VALUES (@ts, @door, @mode, @outcome, @reason, @card_hash, @category, @age_band, @source)`,
    );
    for (const entry of takeCardFromDoorJournal(db.name, cardHash)) insert.run(entry);
    const entries = foldCardEntries(db, cardHash, timezone);
    const consents = db.prepare('DELETE FROM consents WHERE card_hash = ?').run(cardHash).changes;
    const patrons = db.prepare('DELETE FROM patrons WHERE card_hash = ?').run(cardHash).changes;
    const patronSeen = db.prepare('DELETE FROM patron_seen WHERE card_hash = ?').run(cardHash).changes;
    const pinFailures = db.prepare('DELETE FROM pin_failures WHERE card_hash = ?').run(cardHash).changes;
    const tombstone = newTombstone();
    const auditTombstoned = tombstoneAuditRows(db, [cardHash], new Map([[cardHash, tombstone]]));
    const counts = { entries, consents, patrons, patronSeen, pinFailures, auditTombstoned };
    const auditId = audit(
      db,
      {
        actor,
        action: 'privacy.erase',
        subject: tombstone,
        reason: reason.replaceAll(cardHash, tombstone),
        detail: counts,
      },
      options.now,
    );
    return { tombstone, ...counts, auditId };
  })();
}

export type ReportLanguage = 'nb' | 'da' | 'en';

const TEXT = {
  nb: {
    title: 'Innsynsrapport',
    intro:
      'Alle opplysninger Dørvakt lagrer om dette kortet. Kortnummeret lagres aldri, bare en nøkkelbasert hash av det.',
    card: 'Kort (hash)',
    generated: 'Laget',
    entries: 'Passeringer',
    consents: 'Avtaler og samtykker',
    registry: 'Lokalt lånerregister',
    seen: 'Siste kontroll mot bibliotekssystemet',
    pins: 'Feil PIN-koder',
    audit: 'Revisjonslogg',
    none: 'Ingen',
    time: 'Tid',
    door: 'Dør',
    mode: 'Modus',
    outcome: 'Utfall',
    reason: 'Årsak',
    category: 'Kategori',
    ageBand: 'Aldersgruppe',
    kind: 'Type',
    action: 'Handling',
    version: 'Versjon',
    registeredBy: 'Registrert av',
    registeredAt: 'Registrert',
    birthYear: 'Fødselsår',
    blocked: 'Sperret',
    cardLost: 'Meldt tapt',
    expires: 'Utløper',
    created: 'Opprettet',
    lastActivity: 'Sist aktiv',
    actor: 'Hvem',
    detail: 'Detaljer',
    yes: 'ja',
    no: 'nei',
    retention:
      'Passeringer beholdes med kort-hash i et begrenset antall dager og blir deretter anonym statistikk. Opplysninger uten aktivitet slettes etter fastsatt tid.',
  },
  da: {
    title: 'Indsigtsrapport',
    intro:
      'Alle oplysninger Dørvakt gemmer om dette kort. Kortnummeret gemmes aldrig, kun en nøglebaseret hash af det.',
    card: 'Kort (hash)',
    generated: 'Dannet',
    entries: 'Adgange',
    consents: 'Aftaler og samtykker',
    registry: 'Lokalt låneregister',
    seen: 'Seneste kontrol mod bibliotekssystemet',
    pins: 'Forkerte pinkoder',
    audit: 'Revisionslog',
    none: 'Ingen',
    time: 'Tid',
    door: 'Dør',
    mode: 'Tilstand',
    outcome: 'Udfald',
    reason: 'Årsag',
    category: 'Kategori',
    ageBand: 'Aldersgruppe',
    kind: 'Type',
    action: 'Handling',
    version: 'Version',
    registeredBy: 'Registreret af',
    registeredAt: 'Registreret',
    birthYear: 'Fødselsår',
    blocked: 'Spærret',
    cardLost: 'Meldt bortkommet',
    expires: 'Udløber',
    created: 'Oprettet',
    lastActivity: 'Senest aktiv',
    actor: 'Hvem',
    detail: 'Detaljer',
    yes: 'ja',
    no: 'nej',
    retention:
      'Adgange gemmes med kort-hash et begrænset antal dage og bliver derefter anonym statistik. Oplysninger uden aktivitet slettes efter fastsat tid.',
  },
  en: {
    title: 'Access report',
    intro:
      'Everything Dørvakt stores about this card. The card number is never stored, only a keyed hash of it.',
    card: 'Card (hash)',
    generated: 'Generated',
    entries: 'Entries',
    consents: 'Agreements and consents',
    registry: 'Local patron registry',
    seen: 'Last check against the library system',
    pins: 'Wrong PINs',
    audit: 'Audit log',
    none: 'None',
    time: 'Time',
    door: 'Door',
    mode: 'Mode',
    outcome: 'Outcome',
    reason: 'Reason',
    category: 'Category',
    ageBand: 'Age band',
    kind: 'Kind',
    action: 'Action',
    version: 'Version',
    registeredBy: 'Registered by',
    registeredAt: 'Registered',
    birthYear: 'Birth year',
    blocked: 'Blocked',
    cardLost: 'Reported lost',
    expires: 'Expires',
    created: 'Created',
    lastActivity: 'Last active',
    actor: 'Who',
    detail: 'Detail',
    yes: 'yes',
    no: 'no',
    retention:
      'Entries keep the card hash for a limited number of days and then become anonymous statistics. Records without activity are deleted after a set time.',
  },
} as const;

const HTML_LANG = { nb: 'nb', da: 'da', en: 'en' } as const;

function esc(value: unknown): string {
  const s =
    value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A printable, self-contained HTML page of the report (no scripts, inline CSS). Times shown in `timezone`
 * (the site's zone).
 */
export function renderAccessReportHtml(
  report: AccessReport,
  lang: ReportLanguage,
  timezone = 'Europe/Oslo',
): string {
  const t = TEXT[lang] ?? TEXT.en;
  const fmt = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : lang, {
    timeZone: timezone,
    dateStyle: 'short',
    timeStyle: 'medium',
  });
  const time = (isoTime: string) => esc(fmt.format(new Date(isoTime)));
  const reasonText = (reason: string) => {
    const known = PATRON_MESSAGES[reason as Reason];
    return known ? `${esc(reason)} <span class="muted">(${esc(known[lang])})</span>` : esc(reason);
  };
  // A wide table scrolls in its own box on a phone (a labelled, focusable region, for the keyboard).
  const table = (headers: string[], rows: string[][], label: string = t.title) =>
    rows.length === 0
      ? `<p class="muted">${esc(t.none)}</p>`
      : `<div class="table-scroll" role="region" aria-label="${esc(label)}" tabindex="0"><table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
          .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
          .join('')}</tbody></table></div>`;
  const yesNo = (b: boolean) => esc(b ? t.yes : t.no);

  const sections = [
    `<h2>${esc(t.entries)} (${report.entries.length})</h2>`,
    table(
      [t.time, t.door, t.mode, t.outcome, t.reason, t.category, t.ageBand],
      report.entries.map((e) => [
        time(e.at),
        esc(e.door),
        esc(e.mode),
        esc(e.outcome),
        reasonText(e.reason),
        esc(e.category),
        esc(e.ageBand),
      ]),
      t.entries,
    ),
    `<h2>${esc(t.consents)} (${report.consents.length})</h2>`,
    table(
      [t.time, t.kind, t.action, t.version, t.registeredBy, t.registeredAt],
      report.consents.map((c) => [
        time(c.at),
        esc(c.kind),
        esc(c.action),
        esc(c.version),
        esc(c.registeredBy),
        time(c.registeredAt),
      ]),
      t.consents,
    ),
    `<h2>${esc(t.registry)}</h2>`,
    report.registry
      ? table(
          [t.category, t.birthYear, t.blocked, t.cardLost, t.expires, t.created, t.lastActivity],
          [
            [
              esc(report.registry.category),
              esc(report.registry.birthYear),
              yesNo(report.registry.blocked),
              yesNo(report.registry.cardLost),
              esc(report.registry.expiresDate),
              time(report.registry.createdAt),
              time(report.registry.lastActivityAt),
            ],
          ],
        )
      : `<p class="muted">${esc(t.none)}</p>`,
    `<h2>${esc(t.seen)}</h2>`,
    report.patronSeen
      ? table(
          [t.time, t.category, t.birthYear],
          [
            [
              time(report.patronSeen.lastLiveOkAt),
              esc(report.patronSeen.category),
              esc(report.patronSeen.birthYear),
            ],
          ],
        )
      : `<p class="muted">${esc(t.none)}</p>`,
    `<h2>${esc(t.pins)} (${report.pinFailures.length})</h2>`,
    table(
      [t.time],
      report.pinFailures.map((p) => [time(p.at)]),
    ),
    `<h2>${esc(t.audit)} (${report.audit.length})</h2>`,
    table(
      [t.time, t.actor, t.action, t.reason, t.detail],
      report.audit.map((a) => [time(a.at), esc(a.actor), esc(a.action), esc(a.reason), esc(a.detail)]),
      t.audit,
    ),
  ];

  return `<!doctype html>
<html lang="${HTML_LANG[lang] ?? 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(t.title)}</title>
<style>
body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:18pt;margin:0 0 .3em}h2{font-size:13pt;margin:1.4em 0 .4em;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;font-size:9.5pt}th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eee}.muted{color:#555}code{word-break:break-all}
.table-scroll{overflow-x:auto}td:last-child{overflow-wrap:anywhere}
@media (max-width:700px){body{margin:1em}}
@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}.table-scroll{overflow:visible}}
</style>
</head>
<body>
<h1>${esc(t.title)}</h1>
<p>${esc(t.intro)}</p>
<p>${esc(t.card)}: <code>${esc(report.cardHash)}</code><br>${esc(t.generated)}: ${time(report.generatedAt)}</p>
${sections.join('\n')}
<p class="muted">${esc(t.retention)}</p>
</body>
</html>
`;
}
