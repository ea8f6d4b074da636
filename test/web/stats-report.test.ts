import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDate } from '../../src/web/time.ts';
import { addUser } from '../../src/web/users.ts';
import { type Harness, type Login, login, STAFF, startHarness } from './fixtures.ts';

/** The statistics page's section with the national forms' figures, through the real dashboard. */
describe('statistics as reported on the dashboard', () => {
  let h: Harness;
  let staff: Login;
  const thisYear = Number(localDate(Date.now(), 'Europe/Oslo').slice(0, 4));
  const year = thisYear - 1;
  const getAs = (who: Login, url: string) =>
    h.app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });

  beforeAll(async () => {
    h = await startHarness();
    staff = await login(h.app, STAFF);
    const insert = h.db.prepare(
      `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, source)
       VALUES (?, 'main', ?, 'granted', 'ok', 'h', 'local')`,
    );
    insert.run(Date.UTC(year, 2, 2, 12), 'staffed');
    insert.run(Date.UTC(year, 2, 2, 20), 'staffless');
    // A counter on a second door: its passages are its visits.
    h.db
      .prepare(
        `INSERT INTO passages_hourly (day, hour, door, mode, passages_in, passages_out) VALUES (?, 18, 'back', 'staffless', 4, 4)`,
      )
      .run(`${year}-03-03`);
  }, 60_000);
  afterAll(() => h.close());

  it('shows the year form without computing figures until a year is asked for', async () => {
    const page = await getAs(staff, '/stats');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('id="report"');
    expect(page.body).toContain(`<option value="${thisYear}" selected>`);
    expect(page.body).toContain(`<option value="2000">`);
    expect(page.body).not.toContain(`<option value="1999">`);
    expect(page.body).not.toContain('id="report-year"');
  });

  it('shows a year’s visits and opening hours per week', { timeout: 60_000 }, async () => {
    const page = await getAs(staff, `/stats?year=${year}`);
    expect(page.statusCode).toBe(200);
    const table = /<table id="report-year">([\s\S]*?)<\/table>/.exec(page.body)?.[1] ?? '';
    expect(table).toContain('<th scope="row">Visits in staffed hours</th><td>1</td>');
    expect(table).toContain('<th scope="row">Visits in staffless hours</th><td>5</td>');
    expect(page.body).toMatch(/back \(people counter\).*main \(granted entries\)/);
    expect(page.body).toContain('id="report-weeks"');
    for (const [language, words] of [
      ['nb', 'Besøk i betjent åpningstid'],
      ['da', 'Besøg i åbningstid med betjening'],
    ] as const) {
      const name = `staff-${language}`;
      await addUser(h.db, { name, password: `${name}-long-password`, role: 'staff', language });
      const who = await login(h.app, { name, password: `${name}-long-password` });
      const page = await getAs(who, `/stats?year=${year}`);
      expect(page.body).toContain(`<th scope="row">${words}</th><td>1</td>`);
    }
  });

  it('bounds the year to real report years', { timeout: 60_000 }, async () => {
    const future = (await getAs(staff, '/api/stats/report?year=9999')).json();
    expect(future.year).toBe(thisYear);
    const ancient = (await getAs(staff, '/api/stats/report?year=0100')).json();
    expect(ancient.year).toBe(2000);
    const junk = (await getAs(staff, '/api/stats/report?year=abcd')).json();
    expect(junk.year).toBe(thisYear);
    const page = await getAs(staff, '/stats?year=<script>');
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('<script>');
  });

  it('downloads the forms as CSV', { timeout: 60_000 }, async () => {
    const no = await getAs(staff, `/stats/report.csv?year=${year}&format=no`);
    expect(no.statusCode).toBe(200);
    expect(no.headers['content-type']).toContain('text/csv');
    expect(no.headers['content-disposition']).toBe(`attachment; filename="dorvakt-report-${year}-no.csv"`);
    expect(no.body.split('\r\n')[1]).toMatch(new RegExp(`^år,${year},${year}-01-01,${year}-12-31,1,5,6,`));
    const dk = await getAs(staff, `/stats/report.csv?year=${year}&format=dk`);
    expect(dk.body.split('\r\n')[0]).toMatch(/^niveau,/);
    const other = await getAs(staff, `/stats/report.csv?year=${year}&format=xx`);
    expect(other.headers['content-disposition']).toContain('-no.csv');
  });
});
