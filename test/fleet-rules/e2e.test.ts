/**
 * The fleet's rules over a real Mosquitto into a running service (checked and applied in its worker process,
 * decided from the store in its door process): a signed block list reaches the branch and the gate refuses the card; unsigned, wrongly signed and older documents are refused with the alarm and
 * change nothing; a fleet closure closes the door; a restart with the broker gone keeps the last good set.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { parseConfig, resolveConfigPaths } from '../../src/config/load.ts';
import { signRules } from '../../src/fleet-rules/sign.ts';
import { LocalBlocks } from '../../src/local-access/blocks.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Service, startService } from '../../src/service.ts';
import { localDate } from '../../src/time/zone.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { branchYaml, fleetKeys, IdleReader, inDays, rules } from './helpers.ts';

const CARD = '24681357';
const LOCAL_CARD = '11112222';
const TOPIC = 'dorvakt/fleet/rules';

describe('fleet rules through Mosquitto into the branch', () => {
  const dir = tempDir('fleet-e2e-');
  const keys = fleetKeys();
  let broker: Broker;
  let service: Service | undefined;
  let app: App | undefined;
  let centre: MqttClient;
  const configText = (mqttUrl: string, opsPort: number) => `
${branchYaml('branch1', mqttUrl)}ops: { host: 127.0.0.1, port: ${opsPort} }
web: { enabled: false }
log: { level: silent }
`;
  const start = async (mqttUrl: string) => {
    const config = parseConfig(configText(mqttUrl, await freePort()));
    resolveConfigPaths(config, dir.path);
    service = await startService({ config, log: createLogger('silent'), readerFor: () => new IdleReader() });
    return service.app;
  };
  const swipe = async (card: string) => {
    const result = await app!.gate.handle(app!.doors[0]!, { card });
    return { allow: result.decision.allow, reason: result.decision.reason };
  };
  const publish = (payload: string) => centre.publishAsync(TOPIC, payload, { qos: 1, retain: true });
  const rejectedCount = async (why: string) =>
    (await app!.metrics.fleetRulesRejected.get()).values.find((v) => v.labels.why === why)?.value ?? 0;
  const appliedVersion = () =>
    app!.db.prepare('SELECT version FROM fleet_rules').pluck().get() as number | undefined;

  beforeAll(async () => {
    broker = await startMosquitto();
    writeFileSync(join(dir.path, 'key'), 'fleet-wide-card-key-0123456789');
    writeFileSync(join(dir.path, 'fleet.pub'), keys.publicPem);
    app = await start(broker.url);
    const patrons = new LocalPatronSource(app.db, app.hashCard, () => localDate(new Date(), 'Europe/Oslo'));
    for (const card of [CARD, LOCAL_CARD]) {
      patrons.put(card, { category: 'V', birthYear: 1980 });
      for (const kind of ['agreement', 'camera'] as const)
        app.consents.sign(app.hashCard(card), kind, '1', Date.now(), 'test');
    }
    new LocalBlocks(app.db, ['front']).add(
      {
        cardHash: app.hashCard(LOCAL_CARD),
        cardHint: '2222',
        note: 'made at the desk',
        doors: null,
        expiresAt: Date.now() + 86_400_000,
      },
      'ada',
    );
    centre = await connectAsync(broker.url);
    await waitFor(() => app!.mqtt.connected, 10_000, 'the branch on the broker');
  }, 120_000);

  afterAll(async () => {
    await centre?.endAsync();
    await service?.stop();
    await broker?.stop();
    dir.cleanup();
  });

  it('a signed block list reaches the branch and the gate refuses that card', async () => {
    expect(await swipe(CARD)).toEqual({ allow: true, reason: 'allow' });
    const doc = rules(1, {
      blocks: [
        {
          card_hash: app!.hashCard(CARD),
          card_hint: '1357',
          note: 'card reported stolen',
          expires_at: inDays(30),
        },
      ],
    });
    await publish(JSON.stringify(signRules(doc, keys.privateKey)));
    await waitFor(() => appliedVersion() === 1, 10_000, 'version 1 applied');
    expect(await swipe(CARD)).toEqual({ allow: false, reason: 'blocked_locally' });
    // The block made at the desk is untouched and still refuses its card.
    expect(await swipe(LOCAL_CARD)).toEqual({ allow: false, reason: 'blocked_locally' });
    const audited = app!.db
      .prepare("SELECT actor, detail FROM audit WHERE action = 'fleet_rules.applied'")
      .all();
    expect(audited).toHaveLength(1);
    expect(app!.alarms.isActive('fleet_rules_rejected')).toBe(false);
  });

  it('refuses unsigned, wrongly signed and older documents with the alarm and a counter; nothing changes', async () => {
    const lifted = rules(9, { blocks: [] });
    await publish(JSON.stringify(lifted));
    await waitFor(async () => (await rejectedCount('unsigned')) === 1, 10_000, 'the unsigned one refused');
    expect(app!.alarms.isActive('fleet_rules_rejected')).toBe(true);
    await publish(JSON.stringify(signRules(lifted, fleetKeys().privateKey)));
    await waitFor(
      async () => (await rejectedCount('bad_signature')) === 1,
      10_000,
      'the stranger-signed one refused',
    );
    expect(appliedVersion()).toBe(1);
    expect(await swipe(CARD)).toEqual({ allow: false, reason: 'blocked_locally' });

    // Version 2 lifts the block; then an older (version 1) document that would block again is refused.
    await publish(JSON.stringify(signRules(rules(2), keys.privateKey)));
    await waitFor(() => appliedVersion() === 2, 10_000, 'version 2 applied');
    // The worker clears the alarm after its commit; the door process hears it a message later.
    await waitFor(() => !app!.alarms.isActive('fleet_rules_rejected'), 10_000, 'the alarm cleared');
    expect(await swipe(CARD)).toEqual({ allow: true, reason: 'allow' });
    expect(await swipe(LOCAL_CARD)).toEqual({ allow: false, reason: 'blocked_locally' });
    const old = rules(1, {
      blocks: [{ card_hash: app!.hashCard(CARD), note: 'replayed', expires_at: inDays(30) }],
    });
    await publish(JSON.stringify(signRules(old, keys.privateKey)));
    await waitFor(async () => (await rejectedCount('stale')) === 1, 10_000, 'the older one refused');
    expect(app!.alarms.isActive('fleet_rules_rejected')).toBe(true);
    expect(appliedVersion()).toBe(2);
    expect(await swipe(CARD)).toEqual({ allow: true, reason: 'allow' });
    const refusals = app!.db
      .prepare("SELECT reason FROM audit WHERE action = 'fleet_rules.rejected'")
      .pluck()
      .all();
    expect(refusals).toEqual(['unsigned', 'bad_signature', 'stale']);
  });

  it('a fleet closure for today closes the door (merged into the schedule and computed again)', async () => {
    const today = localDate(new Date(), 'Europe/Oslo');
    const doc = rules(3, {
      blocks: [{ card_hash: app!.hashCard(CARD), note: 'card reported stolen', expires_at: inDays(30) }],
      exceptions: [{ date: today, closed: true, note: 'staff day' }],
    });
    expect(app!.doors[0]!.scheduleState()).toBe('staffless');
    await publish(JSON.stringify(signRules(doc, keys.privateKey)));
    await waitFor(() => appliedVersion() === 3, 10_000, 'version 3 applied');
    await waitFor(() => app!.doors[0]!.scheduleState() === 'closed', 60_000, 'the door closed by the fleet');
    expect(app!.alarms.isActive('fleet_rules_rejected')).toBe(false);
  }, 90_000);

  it('a restart with the broker gone keeps the last good set: the block and the closure', async () => {
    await service!.stop();
    await broker.kill();
    app = await start(`mqtt://127.0.0.1:${await freePort()}`);
    expect(app.mqtt.connected).toBe(false);
    expect(await swipe(CARD)).toEqual({ allow: false, reason: 'blocked_locally' });
    await waitFor(
      () => app!.doors[0]!.scheduleState() === 'closed',
      60_000,
      'the fleet closure after the restart',
    );
  }, 120_000);

  it('the retained copy of the document in force, delivered again on reconnect, raises nothing', async () => {
    await service!.stop();
    await broker.start();
    app = await start(broker.url);
    await waitFor(() => app!.mqtt.connected, 10_000, 'connected');
    // The retained version-3 document arrives; a probe published after it shows it has been handled.
    const probe = rules(4, {
      blocks: [{ card_hash: app.hashCard(CARD), note: 'card reported stolen', expires_at: inDays(30) }],
    });
    await publish(JSON.stringify(signRules(probe, keys.privateKey)));
    await waitFor(() => appliedVersion() === 4, 10_000, 'version 4 applied');
    expect((await app.metrics.fleetRulesRejected.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    expect(app.alarms.isActive('fleet_rules_rejected')).toBe(false);
  }, 120_000);
});
