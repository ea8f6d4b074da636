import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SwipeResult } from '../../src/access/gate.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Service, startService } from '../../src/service.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

const CARD = '13572468';

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
const close = (server: Server) => new Promise<void>((r) => server.close(() => r()));

/** The dashboard and the ops endpoints are optional: a taken port must not keep the door shut. */
describe('optional parts fail alone', () => {
  const dir = tempDir('parts-');
  let reader: PtyPair | undefined;
  let service: Service | undefined;
  afterAll(async () => {
    await service?.stop();
    await reader?.close();
    dir.cleanup();
  });

  it('opens the door while the dashboard and ops ports are taken, names each part in an alarm, and starts them once free', async () => {
    reader = await createPtyPair();
    const [opsPort, webPort] = [await freePort(), await freePort()];
    const blockers = await Promise.all([occupy(opsPort), occupy(webPort)]);
    writeFileSync(join(dir.path, 'key'), 'parts-site-key-0123456789abcdef');
    const config = parseConfig(`
site: { id: parts, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "24/7", holidays_closed: false }
    reader: { path: ${reader.devicePath} }
    hardware: { driver: sim, pulse_ms: 5000, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "mqtt://127.0.0.1:${await freePort()}", embedded_fallback: false }
ops: { host: 127.0.0.1, port: ${opsPort} }
web: { enabled: true, host: 127.0.0.1, port: ${webPort} }
log: { level: silent }
`);
    const swipes: SwipeResult[] = [];
    service = await startService({
      config,
      log: createLogger('silent'),
      onSwipe: (_door, result) => swipes.push(result),
    });
    const { app } = service;
    expect(service.opsUrl).toBeUndefined();
    expect(service.webUrl).toBeUndefined();
    const failed = app.alarms.list().filter((a) => a.code === 'part_failed');
    expect(failed.map((a) => a.door).sort()).toEqual(['dashboard', 'ops']);
    expect(failed.every((a) => /EADDRINUSE/.test(a.detail ?? ''))).toBe(true);

    new LocalPatronSource(app.db, app.hashCard, () => '2026-11-30').put(CARD, {
      category: 'V',
      birthYear: 1980,
    });
    for (const kind of ['agreement', 'camera'] as const)
      app.consents.sign(app.hashCard(CARD), kind, '1', Date.now(), 't');
    const front = app.doors[0]!;
    await waitFor(() => front.reader.online, 5000, 'the reader');
    reader.write(`${CARD}\r\n`);
    await waitFor(() => swipes.length === 1, 5000, 'the swipe');
    expect(swipes[0]!.decision).toEqual({ allow: true, reason: 'allow' });
    expect(front.door.state().locked).toBe(false);

    await Promise.all(blockers.map(close));
    await waitFor(() => service!.opsUrl !== undefined && service!.webUrl !== undefined, 40_000, 'the parts');
    expect((await fetch(`${service.opsUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.webUrl}/login`)).status).toBe(200);
    expect(app.alarms.list().filter((a) => a.code === 'part_failed')).toEqual([]);
  }, 90_000);
});
