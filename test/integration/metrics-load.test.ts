/** prom-client is loaded on the door's event loop: only once the doors have been quiet, never mid-swipes. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

// Swipes come every fifth of the quiet time for three quiet times: a load that ignored them would start mid-series,
// and a test process stalled under a loaded suite still has most of a second before it could fire by mistake.
const QUIET_MS = 1000;
const SWIPES = 15;

describe('loading prom-client after the start', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let app: App | undefined;

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir('metrics-load-');
    writeFileSync(join(dir.path, 'key'), 'metrics-load-site-key-0123456789');
  });
  afterAll(async () => {
    await app?.stop();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('waits while a patron swipes again and again, and loads once the doors are quiet', async () => {
    const config = parseConfig(`
site: { id: metrics, timezone: UTC, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
log: { level: silent }
`);
    const started = await startApp({ config, log: createLogger('silent'), metricsQuietMs: QUIET_MS });
    app = started;
    let swipes = 0;
    started.bus.subscribe((event) => {
      if (event.type === 'entry') swipes++;
    });
    await waitFor(() => started.doors[0]!.reader.online, 5000, 'the reader');
    for (let i = 0; i < SWIPES; i++) {
      pty.write('99990001\r\n');
      await new Promise((r) => setTimeout(r, QUIET_MS / 5));
    }
    await waitFor(() => swipes === SWIPES, 5000, 'every swipe decided');
    expect(started.metrics.loadStarted).toBe(false);
    await waitFor(() => started.metrics.loadStarted, QUIET_MS * 5, 'the load once quiet');
    // What was counted before the load is in the scrape.
    expect(await started.metrics.text('dorvakt_swipes_total')).toMatch(
      new RegExp(`outcome="denied".* ${SWIPES}$`, 'm'),
    );
  });
});
