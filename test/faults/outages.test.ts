import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/contract/mqtt-check.ts';
import type { NvrAgent } from '../../src/nvr-agent/agent.ts';
import { startSip2Simulator, type Sip2Simulator } from '../../src/ils/simulator.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { agentConfig, startAgent, TEST_KEY, writeKey } from '../nvr/helpers.ts';
import { type Harness, startHarness } from './app-harness.ts';

/**
 * One running door loop (patrons from the SIP2 simulator, offline policy deny) through the outages of
 * everything around it, one after another: reader, broker, library system, recorder agent. The door
 * keeps its policy throughout, each alarm rises and clears, and nothing crashes.
 */
const CARD = '10000001'; // a demo patron in good standing in the simulator

describe('outages around a running door', () => {
  let broker: Broker;
  let pty: PtyPair;
  let sip2: Sip2Simulator;
  let dir: ReturnType<typeof tempDir>;
  let h: Harness;
  let observer: MqttClient;
  let unlocks = 0;
  const mqttEvents: string[] = [];
  /** The previous grant's pulse is over, so the next grant is a fresh unlock. */
  const relocked = () => waitFor(() => h.app.doors[0]!.door.state().locked, 3000, 'door locked');

  beforeAll(async () => {
    [broker, pty, sip2] = await Promise.all([startMosquitto(), createPtyPair(), startSip2Simulator()]);
    dir = tempDir('outages-');
    const nvrKey = writeKey(dir.path);
    h = await startHarness({
      dir: dir.path,
      pty,
      mqttUrl: broker.url,
      sip2: { host: sip2.host, port: sip2.port },
      // Camera retention as the service wires it, with short answer timeouts.
      extra:
        'nvr: { enabled: true, answer_timeout_ms: 100, max_tries: 2, backoff: { factor: 2, max_ms: 300 }, ' +
        `auth: { keys: [{ id: ${TEST_KEY.id}, secret: { file: ${nvrKey} } }] } }`,
    });
    for (const kind of ['agreement', 'camera'] as const)
      h.app.consents.sign(h.app.hashCard(CARD), kind, '1', Date.now(), 'test');
    h.app.doors[0]!.door.onRelayWrite((_at, unlocked) => {
      if (unlocked) unlocks++;
    });
    observer = connect(broker.url, { reconnectPeriod: 100 });
    observer.on('message', (_topic, payload) => mqttEvents.push(payload.toString()));
    await observer.subscribeAsync('dorvakt/faults/event');
  });

  afterAll(async () => {
    await observer?.endAsync();
    await h?.stop();
    await sip2?.close();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('grants a patron in good standing to begin with', async () => {
    expect(await h.swipe(CARD)).toMatchObject({ outcome: 'granted', reason: 'allow' });
    await waitFor(() => unlocks === 1, 2000, 'unlock');
  });

  it('reader unplugged and back: reader_offline rises and clears; swipes work after', async () => {
    await pty.unplug();
    await waitFor(() => h.alarmActive('reader_offline', 'front'), 5000, 'reader_offline raised');
    expect(h.app.healthy().ok).toBe(true);
    await pty.plug();
    await waitFor(() => !h.alarmActive('reader_offline', 'front'), 5000, 'reader_offline cleared');
    expect(await h.swipe(CARD)).toMatchObject({ outcome: 'granted' });
  });

  it('broker down and back: the door keeps deciding; broker_offline rises and clears; events flow again', async () => {
    await broker.kill();
    await waitFor(() => !h.app.mqtt.connected, 5000, 'mqtt disconnected');
    await relocked();
    const before = unlocks;
    expect(await h.swipe(CARD)).toMatchObject({ outcome: 'granted' });
    await waitFor(() => unlocks > before, 2000, 'unlock without a broker');
    expect(await h.swipe('99999999')).toMatchObject({ outcome: 'denied', reason: 'unknown_card' });
    // The alarm waits 10 s: a broker restart is routine, a long absence is not.
    await waitFor(() => h.alarmActive('broker_offline'), 15_000, 'broker_offline raised');
    expect(h.app.healthy().ok).toBe(true);
    await broker.start();
    await waitFor(() => !h.alarmActive('broker_offline'), 10_000, 'broker_offline cleared');
    await waitFor(() => observer.connected, 5000, 'observer back');
    const seen = mqttEvents.length;
    await h.swipe(CARD);
    await waitFor(
      () =>
        mqttEvents.slice(seen).some((e) => {
          const checked = parseEvent(e);
          return checked.ok && checked.value.type === 'entry';
        }),
      5000,
      'a v2 entry on MQTT',
    );
  }, 40_000);

  it('library system down and back: offline policy deny holds, ils_offline rises and clears', async () => {
    sip2.setFault({ mode: 'down' });
    await relocked();
    const before = unlocks;
    const reasons: string[] = [];
    for (let i = 0; i < 4; i++) reasons.push((await h.swipe(CARD)).reason);
    expect(new Set(reasons)).toEqual(new Set(['ils_unavailable']));
    await waitFor(() => h.alarmActive('ils_offline'), 5000, 'ils_offline raised');
    const ilsUp = async () => (await h.app.metrics.ilsUp.get()).values[0]?.value;
    expect(await ilsUp()).toBe(0);
    expect(unlocks).toBe(before);
    expect(h.app.healthy().ok).toBe(true);
    sip2.setFault(null);
    await waitFor(() => !h.alarmActive('ils_offline'), 10_000, 'ils_offline cleared');
    expect(await ilsUp()).toBe(1);
    await relocked();
    expect(await h.swipe(CARD)).toMatchObject({ outcome: 'granted', reason: 'allow' });
    await waitFor(() => unlocks > before, 2000, 'unlock after recovery');
  });

  it('recorder agent silent: nvr_unreachable rises while the door works, clears when the agent answers', async () => {
    const controller = h.app.nvr!;
    expect(controller).toBeDefined();
    let agent: NvrAgent | undefined;
    try {
      controller.purgeNow();
      await waitFor(() => h.alarmActive('nvr_unreachable'), 5000, 'nvr_unreachable raised');
      expect(await h.swipe(CARD)).toMatchObject({ outcome: 'granted' });
      expect(h.app.healthy().ok).toBe(true);
      agent = await startAgent(agentConfig(join(dir.path, 'agent'), broker.url), createLogger('silent'));
      await waitFor(() => !h.alarmActive('nvr_unreachable'), 10_000, 'nvr_unreachable cleared');
    } finally {
      await agent?.stop();
    }
  });

  it('after all that, the store is intact and every unlock has a granted entry', () => {
    expect(h.app.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const granted = h.app.db.prepare("SELECT COUNT(*) FROM entries WHERE outcome = 'granted'").pluck().get();
    expect(unlocks).toBeLessThanOrEqual(granted as number);
    expect(unlocks).toBeGreaterThanOrEqual(5);
  });
});

describe('library system down under offline policy allow_known', () => {
  let broker: Broker;
  let pty: PtyPair;
  let sip2: Sip2Simulator;
  let dir: ReturnType<typeof tempDir>;
  let h: Harness;

  beforeAll(async () => {
    [broker, pty, sip2] = await Promise.all([startMosquitto(), createPtyPair(), startSip2Simulator()]);
    dir = tempDir('outages-known-');
    h = await startHarness({
      dir: dir.path,
      pty,
      mqttUrl: broker.url,
      sip2: { host: sip2.host, port: sip2.port },
      offlinePolicy: 'allow_known',
    });
    for (const card of [CARD, '10000002'])
      for (const kind of ['agreement', 'camera'] as const)
        h.app.consents.sign(h.app.hashCard(card), kind, '1', Date.now(), 'test');
  });

  afterAll(async () => {
    await h?.stop();
    await sip2?.close();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('admits a patron seen live recently, denies one never seen, and is back to live answers after', async () => {
    expect(await h.swipe(CARD)).toMatchObject({ outcome: 'granted', reason: 'allow' });
    sip2.setFault({ mode: 'down' });
    expect(await h.swipe(CARD)).toMatchObject({ outcome: 'granted', reason: 'allow_offline_known' });
    expect(await h.swipe('10000002')).toMatchObject({ outcome: 'denied', reason: 'ils_unavailable' });
    sip2.setFault(null);
    await waitFor(async () => (await h.swipe('10000002')).reason === 'allow', 10_000, 'live answers again');
  });
});
