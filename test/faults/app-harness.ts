import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, type AppOptions, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { AlarmCode, DorvaktEvent } from '../../src/contract/events.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { waitFor } from '../helpers/ports.ts';
import type { PtyPair } from '../helpers/pty.ts';
import { SITE_KEY } from './service-child.ts';

/** The door loop in-process (startApp), for faults the test must reach into (disk, GPIO, broker). */
export interface Harness {
  app: App;
  events: DorvaktEvent[];
  entries(): Extract<DorvaktEvent, { type: 'entry' }>[];
  /** Writes a card on the pty and waits for its decision. */
  swipe(card: string, timeoutMs?: number): Promise<Extract<DorvaktEvent, { type: 'entry' }>>;
  alarmActive(code: AlarmCode, door?: string): boolean;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  dir: string;
  pty: PtyPair;
  mqttUrl: string;
  storePath?: string;
  hardware?: string;
  extra?: string;
  /** Cards registered (local registry) with both consents. */
  valid?: string[];
  patronSource?: AppOptions['patronSource'];
  offlinePolicy?: 'deny' | 'allow_known';
  /** The library system (patrons.source sip2) at this simulator address, as the config wires it. */
  sip2?: { host: string; port: number } | undefined;
  /** Another build of the door loop (a copy with a deliberate bug, mutant.ts). */
  startApp?: typeof startApp;
}

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const key = join(o.dir, 'card-hmac.key');
  writeFileSync(key, SITE_KEY);
  const config = parseConfig(`
site: { id: faults, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${key} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${o.pty.devicePath}, profile: line, reconnect_min_ms: 50, reconnect_max_ms: 200 }
    hardware: ${o.hardware ?? '{ driver: sim, pulse_ms: 200, sim: { patron_on_grant: false } }'}
patrons: { source: ${o.sip2 ? 'sip2' : 'local'}, offline_policy: ${o.offlinePolicy ?? 'deny'} }
${
  o.sip2
    ? `ils: { host: ${o.sip2.host}, port: ${o.sip2.port}, institution: DEMO, cache_seconds: 0, connect_timeout_ms: 500,
        request_timeout_ms: 500, circuit: { failure_threshold: 2, backoff_min_ms: 100, backoff_max_ms: 400 } }`
    : ''
}
store: { path: ${o.storePath ?? join(o.dir, 'store.sqlite')} }
mqtt: { url: "${o.mqttUrl}" }
log: { level: silent }
${o.extra ?? ''}
`);
  const app = await (o.startApp ?? startApp)({
    config,
    log: createLogger('silent'),
    ...(o.patronSource ? { patronSource: o.patronSource } : {}),
  });
  const events: DorvaktEvent[] = [];
  app.bus.subscribe((e) => events.push(e));
  if (!o.patronSource) {
    const registry = new LocalPatronSource(app.db, app.hashCard, () => '2026-11-26');
    for (const card of o.valid ?? []) {
      registry.put(card, { category: 'V', birthYear: 1980 });
      for (const kind of ['agreement', 'camera'] as const)
        app.consents.sign(app.hashCard(card), kind, '1', Date.now(), 'test');
    }
  }
  await waitFor(() => app.doors[0]!.reader.online, 10_000, 'reader online');
  const entries = () =>
    events.filter((e): e is Extract<DorvaktEvent, { type: 'entry' }> => e.type === 'entry');
  return {
    app,
    events,
    entries,
    async swipe(card, timeoutMs = 10_000) {
      const before = entries().length;
      o.pty.write(`${card}\r\n`);
      await waitFor(() => entries().length > before, timeoutMs, `decision for a swipe`);
      return entries()[before]!;
    },
    alarmActive: (code, door = '') => app.alarms.isActive(code, door),
    stop: () => app.stop(),
  };
}
