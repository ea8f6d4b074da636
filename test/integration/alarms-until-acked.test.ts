import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { SimDoorDriver } from '../../src/door/sim-driver.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Service, startService } from '../../src/service.ts';
import { addUser } from '../../src/web/users.ts';
import { httpLogin } from '../helpers/http-login.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The whole path of an alarm: the real door (sim driver) in the door process raises it, the dashboard in the
 * worker process lists it through the state mirror, and its acknowledgement goes back over IPC.
 */
describe('a forced door stays in the alarm list until someone acknowledges it', () => {
  const dir = tempDir('alarms-e2e-');
  let reader: PtyPair | undefined;
  let service: Service | undefined;
  afterAll(async () => {
    await service?.stop();
    await reader?.close();
    dir.cleanup();
  });

  it('forced, closed, still listed; acknowledged, gone from Now; kept in the history', async () => {
    reader = await createPtyPair();
    writeFileSync(join(dir.path, 'key'), 'alarms-site-key-0123456789abcdef');
    const config = parseConfig(`
site: { id: alarms, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    name: Front door
    schedule: { staffed: "", staffless: "24/7", holidays_closed: false }
    reader: { path: ${reader.devicePath} }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "mqtt://127.0.0.1:${await freePort()}", embedded_fallback: false }
ops: { host: 127.0.0.1, port: ${await freePort()} }
web: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }
log: { level: silent }
`);
    service = await startService({ config, log: createLogger('silent') });
    const { app } = service;
    const base = await waitFor(() => service!.webUrl, 20_000, 'the dashboard');
    await addUser(app.db, { name: 'sven', role: 'staff', password: 'staff-password-456', language: 'en' });
    const cookie = await httpLogin(base, 'sven', 'staff-password-456');
    const now = async () => (await fetch(`${base}/now`, { headers: { cookie } })).text();

    // No broker here: broker_offline is raised (after the link's grace). Acknowledged, it stays listed but is
    // not counted.
    await waitFor(() => app.alarms.isActive('broker_offline'), 15_000, 'broker_offline raised');
    for (const alarm of app.alarms.unresolved()) app.alarms.acknowledge(alarm.id, 'anne');
    const sim = app.doors[0]!.driver as SimDoorDriver;
    sim.setContact(true);
    await waitFor(() => app.alarms.isActive('door_forced', 'front'), 5000, 'door_forced raised');
    sim.setContact(false);
    await waitFor(() => !app.alarms.isActive('door_forced', 'front'), 5000, 'door_forced cleared');

    // The dashboard (another process) still lists it, cleared and awaiting acknowledgement, in the title too.
    const listed = await waitFor(
      async () => {
        const page = await now();
        return /Cleared, awaiting acknowledgement/.test(page) ? page : undefined;
      },
      10_000,
      'the cleared alarm on Now',
    );
    expect(listed).toMatch(/<title>\(1\) Now/);
    expect(listed).toContain('Front door');
    const id = /data-alarm="door_forced" data-alarm-id="(\d+)"/.exec(listed)?.[1];
    expect(id).toBeDefined();
    const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(listed)![1]!;
    // It stays there: waiting does not make it go.
    await new Promise((r) => setTimeout(r, 500));
    expect(await now()).toContain(`data-alarm-id="${id}"`);

    const ack = await fetch(`${base}/alarms/${id}/ack`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, back: '/now' }).toString(),
    });
    expect(ack.status).toBe(303);
    expect(ack.headers.get('location')).toBe('/now?n=done');
    await waitFor(
      async () => !(await now()).includes(`data-alarm-id="${id}"`),
      5000,
      'the alarm to leave Now',
    );
    const after = await now();
    expect(after).toMatch(/<title>Now/);
    expect(after).toMatch(/data-alarm="broker_offline"[\s\S]*Acknowledged, still active/);

    const stored = app.db
      .prepare('SELECT acked_by AS ackedBy, cleared_at AS clearedAt FROM alarms WHERE id = ?')
      .get(Number(id));
    expect(stored).toMatchObject({ ackedBy: 'sven' });
    const audit = app.db
      .prepare("SELECT actor, subject, detail FROM audit WHERE action = 'alarm.acknowledged'")
      .all();
    expect(audit).toEqual([
      { actor: 'sven', subject: id, detail: JSON.stringify({ code: 'door_forced', door: 'front' }) },
    ]);
    const history = await (await fetch(`${base}/alarms`, { headers: { cookie } })).text();
    expect(history).toContain(`data-alarm-id="${id}"`);
    expect(history).toContain('Cleared and acknowledged');
  }, 60_000);
});
