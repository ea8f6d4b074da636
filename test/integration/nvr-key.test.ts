/** Camera retention is optional: an unusable NVR key raises an alarm and the door still runs. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDb } from '../../src/store/db.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('an unusable nvr.auth key', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  const apps: App[] = [];
  let runs = 0;

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir();
    writeFileSync(join(dir.path, 'key'), 'integration-site-key-0123456789');
    writeFileSync(join(dir.path, 'short.key'), 'too-short');
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  const config = (keyFile: string) =>
    parseConfig(`
site: { id: nvrkey, timezone: UTC, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line }
    hardware: { driver: sim }
store: { path: ${join(dir.path, `store-${++runs}.sqlite`)} }
mqtt: { url: "${broker.url}" }
nvr: { enabled: true, auth: { keys: [{ id: k1, secret: { file: ${keyFile} } }] } }
log: { level: silent }
`);

  it('a controller that throws while starting (a corrupt stored state): the door runs, part_failed names nvr, and a retry starts it once repaired', async () => {
    writeFileSync(join(dir.path, 'good.key'), 'a-good-nvr-key-0123456789abcdefghijklmnop', { mode: 0o600 });
    const cfg = config(join(dir.path, 'good.key'));
    const seed = openDb(cfg.store.path);
    seed.prepare("INSERT INTO nvr_state (key, value) VALUES ('status', '{not json')").run();
    seed.prepare("INSERT INTO nvr_state (key, value) VALUES ('purge', '{not json')").run();
    seed.prepare("INSERT INTO nvr_state (key, value) VALUES ('breach', '{not json')").run();
    seed.prepare("INSERT INTO nvr_state (key, value) VALUES ('forgery', '{not json')").run();
    seed.close();
    const app = await startApp({ config: cfg, log: createLogger('silent') });
    apps.push(app);
    expect(app.nvr).toBeUndefined();
    expect(app.alarms.list().find((a) => a.code === 'part_failed' && a.door === 'nvr')?.detail).toMatch(
      /JSON/,
    );
    await waitFor(() => app.doors[0]!.reader.online, 5000, 'reader online');
    // Repaired (here: the corrupt rows removed), the next retry starts it and the alarm clears.
    app.db.prepare('DELETE FROM nvr_state').run();
    await waitFor(() => app.nvr !== undefined, 15_000, 'the controller started on a retry');
    expect(app.alarms.isActive('part_failed', 'nvr')).toBe(false);
    await app.stop();
    apps.pop();
  }, 30_000);

  for (const [what, file, why] of [
    ['missing', 'missing.key', /cannot read/],
    ['too short', 'short.key', /at least 32/],
  ] as const) {
    it(`${what}: the door runs, NVR is off, nvr_unreachable says why`, async () => {
      const app = await startApp({ config: config(join(dir.path, file)), log: createLogger('silent') });
      apps.push(app);
      expect(app.nvr).toBeUndefined();
      const alarm = app.alarms.list().find((a) => a.code === 'nvr_unreachable');
      expect(alarm?.detail).toMatch(why);
      expect(alarm?.detail).not.toContain('too-short');
      await waitFor(() => app.doors[0]!.reader.online, 5000, 'reader online');
      await app.stop();
      apps.pop();
    });
  }
});
