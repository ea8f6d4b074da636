import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { occupancyDefaults } from '../../src/occupancy/config.ts';
import { createWebServer } from '../../src/web/server.ts';
import { localDate } from '../../src/web/time.ts';
import { DoorProcessLink, RemoteOccupancy } from '../../src/worker/remote.ts';
import { type Harness, type Login, login, STAFF, startHarness } from '../web/fixtures.ts';

describe('occupancy on the dashboard', () => {
  let h: Harness;
  let staff: Login;
  beforeAll(async () => {
    h = await startHarness();
    staff = await login(h.app, STAFF);
  });
  afterAll(async () => h?.close());

  it('the worker shows inside-now as the door process last sent it (the mirror), on the Now page', async () => {
    const link = new DoorProcessLink(() => {}, { doors: [], alarms: [], inside: 4 });
    const occupancy = new RemoteOccupancy(link);
    expect(occupancy.insideNow()).toBe(4);
    const app = await createWebServer({ ...h.deps, occupancy });
    try {
      const panel = () => app.inject({ method: 'GET', url: '/now/panel', headers: { cookie: staff.cookie } });
      expect((await panel()).body).toContain('Inside now: <strong>4</strong>');
      link.setState({ doors: [], alarms: [], inside: 0 });
      expect((await panel()).body).toContain('Inside now: <strong>0</strong>');
      // The occupancy part is down (retrying): the page says it does not know.
      link.setState({ doors: [], alarms: [], inside: null });
      expect((await panel()).body).toContain('Inside now: <strong>Unknown right now</strong>');
    } finally {
      await app.close();
    }
  });

  it('the statistics page shows passages per hour and tailgating where a counter is configured', async () => {
    const today = localDate(Date.now(), 'Europe/Oslo');
    const add = h.db.prepare(
      `INSERT INTO passages_hourly (day, hour, door, mode, passages_in, passages_out, tailgating)
       VALUES (?, ?, 'main', 'staffless', ?, ?, ?)`,
    );
    add.run(today, 9, 12, 3, 1);
    add.run(today, 20, 1, 9, 2);
    const without = await h.app.inject({ method: 'GET', url: '/stats', headers: { cookie: staff.cookie } });
    expect(without.body).not.toContain('chart-passages');
    const config = {
      ...h.deps.config,
      occupancy: occupancyDefaults({ doors: [{ door: 'main', mqtt: {} }] }),
    };
    const app = await createWebServer({ ...h.deps, config });
    try {
      const page = await app.inject({ method: 'GET', url: '/stats', headers: { cookie: staff.cookie } });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('id="chart-passages"');
      expect(page.body).toContain('Tailgating (more people in than cards shown): <strong>3</strong>');
      const api = await app.inject({ method: 'GET', url: '/api/stats', headers: { cookie: staff.cookie } });
      const passages = (
        api.json() as { passages: { hour: number; passagesIn: number; passagesOut: number }[] }
      ).passages;
      expect(passages[9]).toMatchObject({ passagesIn: 12, passagesOut: 3 });
      expect(passages[20]).toMatchObject({ passagesIn: 1, passagesOut: 9 });
    } finally {
      await app.close();
    }
  });
});
