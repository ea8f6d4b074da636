import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SwipeResult } from '../../src/access/gate.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Service, startService } from '../../src/service.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { processGone } from '../helpers/processes.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

const CARD = '24681357';

/** The dashboard lives in the worker process: killing it must not touch a swipe, and it comes back. */
describe('the worker process (dashboard, statistics, jobs)', () => {
  const dir = tempDir('worker-');
  let reader: PtyPair | undefined;
  let service: Service | undefined;
  afterAll(async () => {
    await service?.stop();
    await reader?.close();
    dir.cleanup();
  });

  it('kill -9 of the worker: swipes keep opening the door, an alarm names it, the dashboard comes back', async () => {
    reader = await createPtyPair();
    writeFileSync(join(dir.path, 'key'), 'worker-site-key-0123456789abcdef');
    const config = parseConfig(`
site: { id: worker, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "24/7", holidays_closed: false }
    reader: { path: ${reader.devicePath} }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "mqtt://127.0.0.1:${await freePort()}", embedded_fallback: false }
ops: { host: 127.0.0.1, port: ${await freePort()} }
web: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }
log: { level: silent }
`);
    const swipes: SwipeResult[] = [];
    service = await startService({
      config,
      log: createLogger('silent'),
      onSwipe: (_door, result) => swipes.push(result),
    });
    const { app, worker } = service;
    const webUrl = await waitFor(() => service!.webUrl, 20_000, 'the dashboard');
    expect((await fetch(`${webUrl}/login`)).status).toBe(200);
    const firstPid = worker.pid!;
    expect(firstPid).not.toBe(process.pid);

    new LocalPatronSource(app.db, app.hashCard, () => '2026-11-30').put(CARD, {
      category: 'V',
      birthYear: 1980,
    });
    for (const kind of ['agreement', 'camera'] as const)
      app.consents.sign(app.hashCard(CARD), kind, '1', Date.now(), 't');
    const front = app.doors[0]!;
    await waitFor(() => front.reader.online, 5000, 'the reader');

    process.kill(firstPid, 'SIGKILL');
    // Swipes while the worker is dead and while it starts again: each one decided and the door opened.
    for (let i = 1; i <= 3; i++) {
      reader.write(`${CARD}\r\n`);
      await waitFor(() => swipes.length === i, 5000, `swipe ${i}`);
      expect(swipes[i - 1]!.decision).toEqual({ allow: true, reason: 'allow' });
      await waitFor(() => front.door.state().locked, 5000, 'the relock');
    }
    await waitFor(
      () => app.alarms.list().some((a) => a.code === 'part_failed' && a.door === 'worker'),
      5000,
      'the part_failed alarm naming the worker',
    );
    expect(processGone(firstPid)).toBe(true);

    const backUrl = await waitFor(
      () => worker.pid !== undefined && worker.pid !== firstPid && service!.webUrl,
      30_000,
      'the dashboard again',
    );
    expect((await fetch(`${backUrl}/login`)).status).toBe(200);
    await waitFor(() => !app.alarms.list().some((a) => a.code === 'part_failed'), 5000, 'the alarm to clear');
    // The door process wrote every entry; the new worker reads them from the same store.
    const entries = app.db.prepare("SELECT COUNT(*) AS n FROM entries WHERE outcome = 'granted'").get() as {
      n: number;
    };
    expect(entries.n).toBe(3);

    // The stop is bounded: a step that never ends (here the door's, after it did its work) does not hang it.
    const lastPid = worker.pid!;
    const realStop = app.stop.bind(app);
    app.stop = async () => {
      await realStop();
      await new Promise(() => {});
    };
    const stopping = service.stop(2000);
    service = undefined;
    const started = Date.now();
    await stopping;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(processGone(lastPid)).toBe(true);
  }, 90_000);
});
