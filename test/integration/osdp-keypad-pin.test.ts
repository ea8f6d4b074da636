/**
 * A PIN typed on an OSDP reader's keypad (KEYPAD replies) reaches the gate as the PIN: OSDP simulator on
 * a socat pty → OsdpCardReader in the service → gate → SIP2 simulator (which checks the PIN) → door.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { type Sip2Simulator, startSip2Simulator } from '../../src/ils/simulator.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { PdDevice, PdSimulator } from '../reader/osdp/pd-simulator.ts';

describe('OSDP keypad PIN → gate → SIP2', () => {
  let broker: Broker;
  let sip2: Sip2Simulator;
  let pty: PtyPair;
  let sim: PdSimulator;
  let pd: PdDevice;
  let dir: ReturnType<typeof tempDir>;
  let app: App;

  beforeAll(async () => {
    [broker, sip2, pty] = await Promise.all([startMosquitto(), startSip2Simulator({}), createPtyPair()]);
    pd = new PdDevice({ address: 0 });
    sim = new PdSimulator(pty.hostPath, [pd], 115200);
    await sim.start();
    dir = tempDir('osdp-pin-');
    writeFileSync(join(dir.path, 'key'), 'osdp-pin-site-key-0123456789');
    const config = parseConfig(`
site: { id: osdppin, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: main
    require_pin: true
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader:
      path: ${pty.devicePath}
      profile: osdp
      baud_rate: 115200
      pin_timeout_ms: 5000
      reconnect_min_ms: 50
      osdp: { security: plaintext, keypad_pin: true, poll_interval_ms: 20 }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
access: { min_age: 15, pin_lockout_attempts: 5, pin_lockout_minutes: 15 }
patrons: { source: sip2, offline_policy: deny }
ils: { host: 127.0.0.1, port: ${sip2.port}, institution: DEMO, cache_seconds: 0, request_timeout_ms: 1000 }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
log: { level: silent }
`);
    app = await startApp({ config, log: createLogger('silent') });
    for (const kind of ['agreement', 'camera'] as const)
      app.consents.sign(app.hashCard('10000001'), kind, '2026-1', Date.now(), 'test');
    await waitFor(() => app.doors[0]!.reader.online, 5000, 'reader online');
  });

  afterAll(async () => {
    await app?.stop();
    await sim?.stop();
    await pty?.close();
    await sip2?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  const entries = () => app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
  async function swipe(card: string, keys: string): Promise<{ outcome: string; reason: string }> {
    const before = entries();
    pd.present(card, 'fmt');
    pd.keypad.push(keys);
    await waitFor(() => entries() > before, 10_000, `the swipe of ${card}`);
    return app.db.prepare('SELECT outcome, reason FROM entries ORDER BY id DESC LIMIT 1').get() as {
      outcome: string;
      reason: string;
    };
  }

  it('the right PIN typed on the reader opens the door', async () => {
    expect(await swipe('10000001', '1234#')).toEqual({ outcome: 'granted', reason: 'allow' });
  });

  it('a wrong PIN typed on the reader is refused by the library system as a wrong PIN', async () => {
    expect(await swipe('10000001', '0000#')).toEqual({ outcome: 'denied', reason: 'bad_pin' });
  });

  it('keys sent one KEYPAD reply at a time are joined into one PIN', async () => {
    const before = entries();
    pd.present('10000001', 'fmt');
    for (const key of ['1', '2', '3', '4', '#']) pd.keypad.push(key);
    await waitFor(() => entries() > before, 10_000, 'the swipe');
    expect(app.db.prepare('SELECT outcome, reason FROM entries ORDER BY id DESC LIMIT 1').get()).toEqual({
      outcome: 'granted',
      reason: 'allow',
    });
  });
});
