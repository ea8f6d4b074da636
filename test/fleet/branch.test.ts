/**
 * The branch side on a real local Mosquitto (the bridge's part played by a client that publishes what the
 * centre would): signed alarm acknowledgements applied and audited only where they belong, and health.
 */
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { alarmAckTopic, type FleetHealth, healthTopic, signAlarmAck } from '../../src/contract/fleet.ts';
import { EventBus } from '../../src/events/bus.ts';
import { BranchFleet } from '../../src/fleet/branch.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { branchFleetConfig } from './branch-config.ts';

const KEY = Buffer.from('branch-fleet-key-0123456789abcdef');
const DAY = 86_400_000;
const log = createLogger('silent');
const dir = tempDir('fleet-branch-');
let broker: Broker;
let db: Db;
let alarms: Alarms;
let fleet: BranchFleet;
let centre: MqttClient;

beforeAll(async () => {
  broker = await startMosquitto();
  db = openDb(join(dir.path, 'store.sqlite'));
  alarms = new Alarms(db, new EventBus(), log);
  fleet = new BranchFleet({
    db,
    site: 'north',
    base: 'dorvakt/north',
    timezone: 'Europe/Oslo',
    identifiedDays: 30,
    config: branchFleetConfig({ scan_seconds: 3600, send_seconds: 3600, batch: 50, health_seconds: 3600 }),
    mqttUrl: broker.url,
    mqttOptions: { reconnectPeriod: 200 },
    key: KEY,
    alarms,
    log,
  });
  fleet.start();
  centre = await connectAsync(broker.url);
  await waitFor(() => fleet.counters !== undefined && fleet.outbox.pending() === 0, 5000, 'fleet ready');
});

afterAll(async () => {
  await centre?.endAsync();
  await fleet?.stop();
  db?.close();
  await broker?.stop();
  dir.cleanup();
});

/** Publishes an acknowledgement and waits until the branch has dealt with it (applied or refused). */
async function acknowledge(
  fields: { alarm: string; scope: string | null; by: string; at: number },
  key = KEY,
) {
  const handled = () =>
    fleet.counters.alarmAcks + Object.values(fleet.counters.refused).reduce((a, b) => a + b, 0);
  const before = handled();
  const seen = db.prepare('SELECT COUNT(*) FROM audit').pluck();
  const auditBefore = seen.get() as number;
  await centre.publishAsync(alarmAckTopic('north'), JSON.stringify(signAlarmAck('north', key, fields)), {
    qos: 1,
  });
  // A probe that always changes something: a refusal or an acknowledgement counts; "nothing matched" is seen
  // by a second, known-good acknowledgement of a marker alarm behind it.
  alarms.raise('part_failed', `marker-${before}`, 'marker');
  const marker = alarms.unresolved().find((a) => a.door === `marker-${before}`)!;
  await centre.publishAsync(
    alarmAckTopic('north'),
    JSON.stringify(
      signAlarmAck('north', KEY, {
        alarm: 'part_failed',
        scope: marker.door,
        by: 'probe',
        at: Date.now() + 1,
      }),
    ),
    { qos: 1 },
  );
  await waitFor(
    () => alarms.unresolved().find((a) => a.id === marker.id)?.ackedAt !== null,
    5000,
    'the marker',
  );
  return { auditRows: (seen.get() as number) - auditBefore - 1 };
}

describe('branch fleet link', () => {
  it('acknowledges the matching alarm raised before the central acknowledgement, as fleet:<user>, audited', async () => {
    alarms.raise('door_forced', 'front', 'forced');
    const { auditRows } = await acknowledge({
      alarm: 'door_forced',
      scope: 'front',
      by: 'ola',
      at: Date.now() + 1,
    });
    const alarm = alarms.unresolved().find((a) => a.code === 'door_forced')!;
    expect(alarm.ackedBy).toBe('fleet:ola');
    expect(auditRows).toBe(1);
    expect(db.prepare("SELECT actor, subject FROM audit WHERE actor = 'fleet:ola'").all()).toEqual([
      { actor: 'fleet:ola', subject: 'door_forced:front' },
    ]);
  });

  it('never covers an alarm raised after the acknowledgement, nor another scope, nor with another key', async () => {
    const at = Date.now() - 60_000;
    alarms.raise('door_held_open', 'front', 'held');
    expect((await acknowledge({ alarm: 'door_held_open', scope: 'front', by: 'ola', at })).auditRows).toBe(0);
    expect(
      (await acknowledge({ alarm: 'door_held_open', scope: 'side', by: 'ola', at: Date.now() + 1 }))
        .auditRows,
    ).toBe(0);
    const forged = await acknowledge(
      { alarm: 'door_held_open', scope: 'front', by: 'ola', at: Date.now() + 1 },
      Buffer.from('x'),
    );
    expect(forged.auditRows).toBe(0);
    expect(fleet.counters.refused.bad_mac).toBe(1);
    expect(alarms.unresolved().find((a) => a.code === 'door_held_open')!.ackedAt).toBeNull();
  });

  it('publishes retention health, retained: behind when an identified entry outlived identified_days', async () => {
    db.prepare(
      "INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, source) VALUES (?, 'front', 'staffless', 'granted', 'allow', 'h', 'local')",
    ).run(Date.now() - 40 * DAY);
    fleet.heartbeat();
    const reader = await connectAsync(broker.url);
    const got: FleetHealth[] = [];
    reader.on('message', (_t, payload) => got.push(JSON.parse(payload.toString())));
    await reader.subscribeAsync(healthTopic('dorvakt/north'), { qos: 1 });
    const health = await waitFor(() => got.find((h) => h.retention_ok === false), 5000, 'health');
    await reader.endAsync();
    expect(health).toMatchObject({ v: 1, identified_days: 30 });
  });
});
