import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { WIRE_EVENT_TYPES } from '../../src/contract/mqtt.ts';
import { type PayloadKind, parseDoorState, parseEvent, parseInfo } from '../../src/contract/mqtt-check.ts';
import { EventBus } from '../../src/events/bus.ts';
import type { ControllerDescription } from '../../src/events/mqtt-info.ts';
import { MqttLink } from '../../src/events/mqtt-link.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDb } from '../../src/store/db.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const BASE = 'dorvakt/contract';
const TS = '2026-11-30T02:00:00.000Z';
const AT = '2026-11-30T20:00:00.000Z';
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const DESCRIPTION: ControllerDescription = {
  software: { name: 'dorvakt', version: PACKAGE_VERSION },
  site: { id: 'contract', name: 'Contract branch' },
  doors: [
    { id: 'front', name: 'Front door' },
    { id: 'back', name: 'Back door' },
  ],
  capabilities: { nvr: true, frigate_recording: false, pin: true, patrons: 'sip2' },
};

/** One of every internal event the link forwards, with the fields a v2 consumer must see. */
const EVERY_EVENT: DorvaktEvent[] = [
  // The category and row id are internal: the wire must not carry them.
  {
    type: 'entry',
    door: 'front',
    outcome: 'granted',
    reason: 'allow',
    mode: 'staffless',
    category: 'VOKSEN',
    entryId: 41,
    ts: TS,
  },
  {
    type: 'entry',
    door: 'front',
    outcome: 'denied',
    reason: 'no_camera_consent',
    mode: 'staffless',
    entryId: 42,
    ts: TS,
  },
  {
    type: 'alarm',
    alarm: 'door_held_open',
    state: 'raised',
    door: 'front',
    detail: 'open longer than 60 s',
    ts: TS,
  },
  { type: 'alarm', alarm: 'store_error', state: 'raised', detail: 'x'.repeat(1000), ts: TS },
  { type: 'alarm', alarm: 'door_held_open', state: 'cleared', door: 'front', ts: TS },
  { type: 'door', door: 'front', locked: false, open: true, held: true, fire: true, mode: 'closed', ts: TS },
  { type: 'mode', door: 'front', mode: 'staffless', next: { mode: 'closed', at: AT }, ts: TS },
  { type: 'mode', door: 'back', mode: 'closed', next: undefined, ts: TS },
  { type: 'closing_soon', door: 'front', minutes: 10, at: AT, ts: TS },
  { type: 'reader_rejected', reader: 'front', why: 'stale_partial', ts: TS },
  { type: 'manual_unlock', door: 'back', minutes: 30, until: AT, ts: TS },
  { type: 'emergency', state: 'started', mode: 'nobody', until: AT, ended: null, ts: TS },
  {
    type: 'state',
    state: 'closing',
    previous: 'staffless',
    emergency: null,
    next: { state: 'closed', at: AT },
    ts: TS,
  },
  { type: 'output', output: 'lights', value: 'off', state: 'closed', ts: TS },
  { type: 'announcement', minutes: 15, at: AT, languages: ['nb', 'en'], ts: TS },
  { type: 'occupancy', door: 'front', direction: 'in', inside: 3, ts: TS },
];

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

let broker: Broker;
let dir: ReturnType<typeof tempDir>;
let link: MqttLink;
let bus: EventBus;
const refused: PayloadKind[] = [];
const clients: MqttClient[] = [];

async function subscriber(topic: string): Promise<Received[]> {
  const client = await connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 100 });
  clients.push(client);
  const received: Received[] = [];
  client.on('message', (t, payload, packet) =>
    received.push({ topic: t, payload: payload.toString(), retain: packet.retain }),
  );
  await client.subscribeAsync(topic, { qos: 1 });
  return received;
}

const onTopic = (received: Received[], topic: string) => received.filter((m) => m.topic === topic);

beforeAll(async () => {
  broker = await startMosquitto();
  dir = tempDir('dorvakt-contract-');
  const db = openDb(join(dir.path, 'store.db'));
  const log = createLogger('silent');
  bus = new EventBus();
  link = new MqttLink(
    {
      url: broker.url,
      baseTopic: BASE,
      clientId: `contract-${process.pid}`,
      info: DESCRIPTION,
      onRefused: (kind) => refused.push(kind),
    },
    bus,
    new Alarms(db, bus, log),
    log,
  );
  link.start();
  await link.open();
  await waitFor(() => link.connected, 5000, 'link connected');
});

afterAll(async () => {
  for (const client of clients) await client.endAsync(true);
  await link?.stop();
  await broker?.stop();
  dir?.cleanup();
});

describe('MQTT contract v2, published to a real Mosquitto and read by a real subscriber', () => {
  it('every event type arrives on <base>/event and validates against its schema', async () => {
    const received = await subscriber(`${BASE}/#`);
    for (const event of EVERY_EVENT) bus.publish(event);
    const events = await waitFor(
      () => {
        const got = onTopic(received, `${BASE}/event`);
        return got.length >= EVERY_EVENT.length ? got : undefined;
      },
      5000,
      'every event on MQTT',
    );
    const wire = events.map((m) => {
      const checked = parseEvent(m.payload);
      expect(checked.ok, `${m.payload} → ${checked.ok ? '' : checked.errors}`).toBe(true);
      return JSON.parse(m.payload) as Record<string, unknown>;
    });
    expect(new Set(wire.map((e) => e.type))).toEqual(new Set(WIRE_EVENT_TYPES));
    expect(wire.every((e) => e.v === 2)).toBe(true);

    expect(wire[0]).toEqual({
      v: 2,
      type: 'entry',
      door: 'front',
      outcome: 'granted',
      reason: 'allow',
      mode: 'staffless',
      ts: TS,
    });
    expect(wire[2]).toEqual({
      v: 2,
      type: 'alarm',
      alarm: 'door_held_open',
      state: 'raised',
      scope: 'front',
      detail: 'open longer than 60 s',
      ts: TS,
    });
    expect(wire[3]).toMatchObject({ scope: null, detail: 'x'.repeat(300) });
    expect(wire[4]).toMatchObject({ state: 'cleared', detail: null });
    expect(wire[5]).toMatchObject({ type: 'door', held: true, fire: true, locked: false, open: true });
    expect(wire[6]).toMatchObject({ type: 'mode', mode: 'staffless', next: { mode: 'closed', at: AT } });
    expect(wire[7]).toMatchObject({ type: 'mode', next: null });
    expect(wire[8]).toEqual({ v: 2, type: 'closing_soon', door: 'front', minutes: 10, at: AT, ts: TS });
    expect(wire[9]).toEqual({ v: 2, type: 'reader_rejected', door: 'front', why: 'stale_partial', ts: TS });
    expect(wire[10]).toEqual({ v: 2, type: 'manual_unlock', door: 'back', minutes: 30, until: AT, ts: TS });
    expect(wire[11]).toEqual({
      v: 2,
      type: 'emergency',
      state: 'started',
      mode: 'nobody',
      until: AT,
      ended: null,
      ts: TS,
    });
    expect(wire[12]).toEqual({
      v: 2,
      type: 'state',
      state: 'closing',
      previous: 'staffless',
      emergency: null,
      next: { state: 'closed', at: AT },
      ts: TS,
    });
    expect(wire[13]).toEqual({
      v: 2,
      type: 'output',
      output: 'lights',
      value: 'off',
      state: 'closed',
      ts: TS,
    });
    expect(wire[14]).toEqual({
      v: 2,
      type: 'announcement',
      minutes: 15,
      at: AT,
      languages: ['nb', 'en'],
      ts: TS,
    });

    // The retained door state follows the door event and validates too.
    const state = await waitFor(
      () => onTopic(received, `${BASE}/door/front/state`).at(-1),
      5000,
      'door state',
    );
    const checkedState = parseDoorState(state.payload);
    expect(checkedState.ok, state.payload).toBe(true);
    expect(JSON.parse(state.payload)).toMatchObject({ held: true, fire: true, locked: false, open: true });
    expect(refused).toEqual([]);
  });

  it('an invalid outgoing event is refused and counted, never sent; the next valid one still goes', async () => {
    const received = await subscriber(`${BASE}/event`);
    const before = link.refusedPayloads;
    // A denied entry with a grant reason, and a reader code the contract does not know.
    bus.publish({
      type: 'entry',
      door: 'front',
      outcome: 'denied',
      reason: 'allow',
      mode: 'closed',
      entryId: 1,
      ts: TS,
    });
    bus.publish({ type: 'reader_rejected', reader: 'front', why: 'made_up' as never, ts: TS });
    bus.publish({ type: 'closing_soon', door: 'front', minutes: 5, at: AT, ts: TS });
    const arrived = await waitFor(() => received[0], 5000, 'the valid event');
    // QoS 1 on one connection keeps order: had either refused event been sent, it would be first.
    await new Promise((r) => setTimeout(r, 200));
    expect(received.map((m) => JSON.parse(m.payload).type)).toEqual(['closing_soon']);
    expect(JSON.parse(arrived.payload)).toMatchObject({ minutes: 5 });
    expect(link.refusedPayloads - before).toBe(2);
    expect(refused).toEqual(['event', 'event']);
  });

  it('<base>/info is retained, names the doors and the software, and comes back after a broker restart', async () => {
    const first = await subscriber(`${BASE}/info`);
    const info = await waitFor(() => first[0], 5000, 'retained info');
    expect(info.retain).toBe(true);
    const checked = parseInfo(info.payload);
    expect(checked.ok, info.payload).toBe(true);
    expect(JSON.parse(info.payload)).toMatchObject({
      v: 2,
      contract: 2,
      software: { name: 'dorvakt', version: PACKAGE_VERSION },
      site: { id: 'contract', name: 'Contract branch' },
      doors: [
        { id: 'front', name: 'Front door' },
        { id: 'back', name: 'Back door' },
      ],
      capabilities: { nvr: true, frigate_recording: false, pin: true, patrons: 'sip2', mqtt_protocol: 5 },
    });

    // The test broker keeps nothing over a restart: only a republish on reconnect brings info back.
    await broker.restart();
    await waitFor(() => link.connected, 10_000, 'link reconnected');
    const later = await subscriber(`${BASE}/info`);
    const again = await waitFor(() => later[0], 5000, 'info after the restart');
    expect(again.retain).toBe(true);
    expect(parseInfo(again.payload).ok).toBe(true);
  });
});
