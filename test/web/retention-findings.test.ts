import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINDING_KINDS } from '../../src/contract/nvr.ts';
import { FINDING_LABELS } from '../../src/web/i18n.ts';
import { type Harness, type Login, login, STAFF, startHarness } from './fixtures.ts';

describe('camera retention page: compliance findings', () => {
  let h: Harness;
  let staff: Login;
  beforeAll(async () => {
    h = await startHarness();
    staff = await login(h.app, STAFF);
  });
  afterAll(async () => h?.close());
  const page = async () =>
    (await h.app.inject({ method: 'GET', url: '/retention', headers: { cookie: staff.cookie } })).body;

  it('shows each finding in plain words with its kind, camera and detail, and what was not checked', async () => {
    h.nvr.findings = [
      {
        kind: 'config_snapshots',
        detail: "camera entrance: snapshots.retain.default = 10 days, more than the site's 7",
        camera: 'entrance',
      },
      {
        kind: 'stale_exports',
        detail: '3 exports that belong to no open case older than 7 days',
        count: 3,
        oldest: new Date(Date.now() - 20 * 86_400_000).toISOString(),
      },
    ];
    h.nvr.skipped = [{ path: 'clips/previews', why: 'symlink' }];
    h.nvr.recorder = {
      kind: 'frigate',
      version: '0.16.2',
      purges: false,
      note: 'Frigate 0.16: Frigate deletes',
    };
    const body = await page();
    expect(body).toContain('id="breach"');
    expect(body).toMatch(
      /<tr data-kind="config_snapshots"><td>Frigate keeps snapshots too long <code>config_snapshots<\/code><\/td><td>entrance<\/td>/,
    );
    expect(body).toContain('snapshots.retain.default = 10 days');
    expect(body).toMatch(/<tr data-kind="stale_exports"><td>Old exports that belong to no open case/);
    expect(body).toContain('<li><code>clips/previews</code>: symlink</li>');
    expect(body).toContain('Frigate 0.16: Frigate deletes');
    expect(body).not.toContain('Retention is kept.');
  });

  it('shows no findings table once the findings are gone', async () => {
    h.nvr.findings = [];
    h.nvr.skipped = [];
    const body = await page();
    expect(body).not.toContain('id="findings"');
    expect(body).not.toContain('id="skipped"');
    expect(body).toContain('Retention is kept.');
  });

  it('has plain words for every finding kind in every language', () => {
    for (const kind of FINDING_KINDS) {
      for (const lang of ['nb', 'da', 'en'] as const) expect(FINDING_LABELS[kind][lang]).toMatch(/\w{3}/);
    }
  });
});
