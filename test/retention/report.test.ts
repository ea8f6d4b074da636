import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/audit.ts';
import { Consents } from '../../src/consent/consents.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { runReportCommand } from '../../src/retention/cli.ts';
import { accessReport, eraseCard, renderAccessReportHtml } from '../../src/retention/report.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { dumpStore, grantedEntry, insertEntries, liveMatchesEntries, type SeedEntry } from './seed.ts';

const TZ = 'Europe/Oslo';
const hashCard = cardHasher('a-site-key-of-some-length');
const CARD = '0424-7781-XYZ';
const OTHER = '9999-0000-ABC';
const X = hashCard(CARD);
const Y = hashCard(OTHER);
const T0 = Date.UTC(2026, 10, 20, 17, 30);

const entry = (hash: string, ts: number, category = 'adult'): SeedEntry => grantedEntry(ts, hash, category);

/** Card X with a record in every table, and card Y beside it. */
function seedCard(db: Db): void {
  insertEntries(db, [entry(X, T0, '<b>adult</b>'), entry(X, T0 + 60_000), entry(Y, T0 + 120_000)]);
  const consents = new Consents(db);
  consents.sign(X, 'agreement', 'v2', T0 - 86_400_000, 'anna');
  consents.sign(X, 'camera', 'v1', T0 - 86_400_000, 'anna');
  consents.withdraw(X, 'camera', T0 + 3_600_000, 'anna', 'patron asked');
  consents.sign(Y, 'agreement', 'v2', T0, 'anna');
  db.prepare(
    `INSERT INTO patrons (card_hash, category, birth_year, blocked, card_lost, expires_date, created_at, last_activity_at)
     VALUES (?, 'adult', 1985, 0, 1, '2027-12-31', ?, ?)`,
  ).run(X, T0 - 86_400_000, T0 + 60_000);
  db.prepare(
    'INSERT INTO patron_seen (card_hash, last_live_ok_at, category, birth_year) VALUES (?, ?, ?, ?)',
  ).run(X, T0, 'adult', 1985);
  db.prepare('INSERT INTO pin_failures (card_hash, ts) VALUES (?, ?)').run(X, T0 - 1000);
  audit(db, {
    actor: 'bob',
    action: 'entries.reveal',
    subject: 'entry:1',
    reason: 'police',
    detail: { cardHash: X },
  });
}

describe('access report', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  beforeEach(() => {
    dir = tempDir('dorvakt-report-');
    db = openDb(join(dir.path, 'store.sqlite'));
    seedCard(db);
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('lists every row about the card, and only that card, and audits the read', () => {
    const report = accessReport(db, X, {
      actor: 'admin',
      reason: 'article 15 request',
      now: T0 + 86_400_000,
    });
    expect(report.cardHash).toBe(X);
    expect(report.generatedAt).toBe(new Date(T0 + 86_400_000).toISOString());
    expect(report.entries.map((e) => e.at)).toEqual([
      new Date(T0).toISOString(),
      new Date(T0 + 60_000).toISOString(),
    ]);
    expect(report.entries[0]).toMatchObject({
      door: 'main',
      outcome: 'granted',
      reason: 'allow',
      ageBand: '18-66',
    });
    expect(report.consents.map((c) => `${c.kind}:${c.action}`)).toEqual([
      'agreement:signed',
      'camera:signed',
      'camera:withdrawn',
    ]);
    expect(report.consents[0]).toMatchObject({ version: 'v2', registeredBy: 'anna' });
    expect(report.registry).toMatchObject({
      birthYear: 1985,
      blocked: false,
      cardLost: true,
      expiresDate: '2027-12-31',
    });
    expect(report.patronSeen).toMatchObject({ lastLiveOkAt: new Date(T0).toISOString(), birthYear: 1985 });
    expect(report.pinFailures).toEqual([{ at: new Date(T0 - 1000).toISOString() }]);
    expect(report.audit.map((a) => a.action)).toEqual([
      'consent.agreement.signed',
      'consent.camera.signed',
      'consent.camera.withdrawn',
      'entries.reveal',
      'privacy.report',
    ]);
    expect(report.audit.at(-1)).toMatchObject({ actor: 'admin', subject: X, reason: 'article 15 request' });
    expect(report.audit[3]!.detail).toEqual({ cardHash: X });
    expect(JSON.stringify(report)).not.toContain(Y);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    // Every read is audited.
    accessReport(db, X, { actor: 'admin' });
    expect(
      db.prepare("SELECT COUNT(*) FROM audit WHERE action = 'privacy.report' AND subject = ?").pluck().get(X),
    ).toBe(2);
  });

  it('an unknown card gives an empty report, still audited', () => {
    const report = accessReport(db, hashCard('never-seen'), { actor: 'admin' });
    expect(report).toMatchObject({
      entries: [],
      consents: [],
      registry: null,
      patronSeen: null,
      pinFailures: [],
    });
    expect(report.audit.map((a) => a.action)).toEqual(['privacy.report']);
  });

  it('renders a printable page in nb, da and en with everything escaped', () => {
    const report = accessReport(db, X, { actor: 'admin' });
    const titles = { nb: 'Innsynsrapport', da: 'Indsigtsrapport', en: 'Access report' } as const;
    for (const lang of ['nb', 'da', 'en'] as const) {
      const html = renderAccessReportHtml(report, lang, TZ);
      expect(html.startsWith('<!doctype html>')).toBe(true);
      expect(html).toContain(`<html lang="${lang}">`);
      expect(html).toContain(`<title>${titles[lang]}</title>`);
      expect(html).toContain(X);
      expect(html).toContain('@media print');
      expect(html).not.toContain('<b>adult</b>');
      expect(html).toContain('&#60;b&#62;adult&#60;/b&#62;');
      expect(html).not.toMatch(/<script/i);
      // Times in the site zone: 17:30 UTC is 18:30 in Oslo in November.
      expect(html).toMatch(/18[:.]30/);
    }
    expect(renderAccessReportHtml(report, 'nb', TZ)).toContain('Velkommen inn');
    expect(renderAccessReportHtml(report, 'da', TZ)).toContain('Velkommen indenfor');
  });
});

describe('eraseCard', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  beforeEach(() => {
    dir = tempDir('dorvakt-erase-');
    db = openDb(join(dir.path, 'store.sqlite'));
    seedCard(db);
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('removes the card from every table, keeps entry counts, and proves the erasure under a tombstone', () => {
    const auditBefore = db.prepare('SELECT COUNT(*) FROM audit').pluck().get() as number;
    const result = eraseCard(db, X, 'admin', 'GDPR art. 17 request', { timezone: TZ, now: T0 + 86_400_000 });
    expect(result).toMatchObject({
      entries: 2,
      consents: 3,
      patrons: 1,
      patronSeen: 1,
      pinFailures: 1,
      auditTombstoned: 4,
    });
    expect(dumpStore(db)).not.toContain(X);
    expect(liveMatchesEntries(db)).toBe(true);
    expect(result.tombstone).toMatch(/^erased:[0-9a-f]{24}$/);

    // The entries live on as anonymous counts in their local hour (18:00 in Oslo).
    expect(db.prepare('SELECT day, hour, category, count FROM entry_stats ORDER BY category').all()).toEqual([
      { day: '2026-11-20', hour: 18, category: '<b>adult</b>', count: 1 },
      { day: '2026-11-20', hour: 18, category: 'adult', count: 1 },
    ]);
    expect(db.prepare('SELECT SUM(count) FROM entry_stats_hourly').pluck().get()).toBe(2);

    // Audit: nothing lost, every old mention now the tombstone, one new row recording the erasure.
    const rows = db.prepare('SELECT * FROM audit ORDER BY id').all() as {
      id: number;
      actor: string;
      action: string;
      subject: string | null;
      reason: string | null;
      detail: string | null;
    }[];
    expect(rows).toHaveLength(auditBefore + 1);
    const erase = rows.at(-1)!;
    expect(erase).toMatchObject({
      id: result.auditId,
      actor: 'admin',
      action: 'privacy.erase',
      subject: result.tombstone,
      reason: 'GDPR art. 17 request',
    });
    expect(JSON.parse(erase.detail!)).toMatchObject({ entries: 2, consents: 3, patrons: 1 });
    expect(rows.filter((r) => r.subject === result.tombstone).map((r) => r.action)).toEqual([
      'consent.agreement.signed',
      'consent.camera.signed',
      'consent.camera.withdrawn',
      'privacy.erase',
    ]);
    expect(rows.find((r) => r.action === 'entries.reveal')!.detail).toBe(
      JSON.stringify({ cardHash: result.tombstone }),
    );

    // The other card is untouched.
    expect(new Consents(db).status(Y).agreement).toBe('signed');
    expect(db.prepare('SELECT COUNT(*) FROM entries WHERE card_hash = ?').pluck().get(Y)).toBe(1);
    expect(new Consents(db).status(X)).toMatchObject({ agreement: 'none', camera: 'none' });

    // A report afterwards finds nothing identified.
    const after = accessReport(db, X, { actor: 'admin' });
    expect(after.entries.length + after.consents.length + after.audit.length).toBe(1); // its own read
  });

  it('needs a reason', () => {
    expect(() => eraseCard(db, X, 'admin', '  ')).toThrow(/reason/);
    expect(db.prepare('SELECT COUNT(*) FROM consents WHERE card_hash = ?').pluck().get(X)).toBe(3);
  });
});

describe('dorvakt report / erase', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  const capture = () => {
    const out = { stdout: '', stderr: '' };
    return {
      out,
      streams: {
        stdout: { write: (t: string) => (out.stdout += t) },
        stderr: { write: (t: string) => (out.stderr += t) },
      },
    };
  };
  beforeEach(() => {
    dir = tempDir('dorvakt-cli-');
    db = openDb(join(dir.path, 'store.sqlite'));
    seedCard(db);
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('report prints JSON and writes the page; the card number appears nowhere', () => {
    const { out, streams } = capture();
    const html = join(dir.path, 'report.html');
    const code = runReportCommand(
      ['report', '--card', CARD, '--html', html, '--lang', 'da'],
      { db, hashCard, actor: 'cli:root', timezone: TZ },
      streams,
    );
    expect(code).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report.cardHash).toBe(X);
    expect(report.entries).toHaveLength(2);
    expect(report.audit.at(-1)).toMatchObject({ actor: 'cli:root', action: 'privacy.report' });
    expect(existsSync(html)).toBe(true);
    expect(readFileSync(html, 'utf8')).toContain('Indsigtsrapport');
    expect(out.stdout + readFileSync(html, 'utf8') + dumpStore(db)).not.toContain(CARD);
  });

  it('--card - reads the card from stdin', () => {
    const { out, streams } = capture();
    const code = runReportCommand(
      ['report', '--card', '-'],
      { db, hashCard, actor: 'cli:root', readStdin: () => `${CARD.toLowerCase()}\n` },
      streams,
    );
    expect(code).toBe(0);
    expect(JSON.parse(out.stdout).cardHash).toBe(X);
  });

  it('erase needs a reason, then erases', () => {
    let c = capture();
    expect(runReportCommand(['erase', '--card', CARD], { db, hashCard, actor: 'cli:root' }, c.streams)).toBe(
      2,
    );
    expect(c.out.stderr).toContain('--reason');
    expect(db.prepare('SELECT COUNT(*) FROM consents WHERE card_hash = ?').pluck().get(X)).toBe(3);
    c = capture();
    expect(
      runReportCommand(
        ['erase', '--card', CARD, '--reason', 'patron request'],
        { db, hashCard, actor: 'cli:root', timezone: TZ },
        c.streams,
      ),
    ).toBe(0);
    expect(JSON.parse(c.out.stdout)).toMatchObject({ entries: 2, consents: 3 });
    expect(dumpStore(db)).not.toContain(X);
  });

  it('usage errors exit 2', () => {
    const deps = { db, hashCard, actor: 'cli:root' };
    for (const argv of [
      ['report'],
      ['report', '--bogus'],
      ['report', '--card', CARD, '--lang', 'sv'],
      ['stats'],
    ]) {
      const c = capture();
      expect(runReportCommand(argv, deps, c.streams)).toBe(2);
      expect(c.out.stderr).not.toBe('');
    }
  });
});
