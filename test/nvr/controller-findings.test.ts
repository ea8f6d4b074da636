import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceFinding, NvrStatus } from '../../src/contract/nvr.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  captureLog,
  type ControllerRig,
  makeController,
  mqttClient,
  sealed,
  testNvrConfig,
} from './helpers.ts';

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;
async function rig(): Promise<{ rig: ControllerRig; fake: MqttClient; base: string; dbPath: string }> {
  const tmp = tempDir('nvr-findings-');
  cleanups.push(() => tmp.cleanup());
  const base = `nvrf${process.pid}-${++seq}`;
  const { log } = captureLog();
  const mqtt = await mqttClient(broker.url);
  const dbPath = join(tmp.path, 'dorvakt.sqlite');
  const r = makeController(dbPath, mqtt, log, testNvrConfig({ base_topic: base }));
  r.controller.start();
  const fake = await mqttClient(broker.url);
  cleanups.push(async () => {
    await fake.publishAsync(`${base}/status`, '', { qos: 1, retain: true });
    await fake.endAsync();
    await r.close();
    await mqtt.endAsync();
  });
  await waitFor(() => mqtt.connected, 2000, 'controller connected');
  await new Promise((res) => setTimeout(res, 50));
  return { rig: r, fake, base, dbPath };
}

const status = (findings: ComplianceFinding[]): NvrStatus => ({
  oldest: new Date(Date.now() - 3 * 86_400_000).toISOString(),
  cameras: [{ name: 'entrance', oldest: new Date(Date.now() - 3 * 86_400_000).toISOString(), files: 4 }],
  ts: new Date().toISOString(),
  recorder: { kind: 'frigate', version: '0.16.2', purges: false, note: 'Frigate 0.16: Frigate deletes' },
  findings,
  skipped: findings.some((f) => f.kind === 'skipped') ? [{ path: 'clips/previews', why: 'symlink' }] : [],
});

const SNAPSHOTS: ComplianceFinding = {
  kind: 'config_snapshots',
  detail: "snapshots.retain.default = 10 days, more than the site's 7",
};
const EXPORTS: ComplianceFinding = {
  kind: 'stale_exports',
  detail: '2 exports that belong to no open case older than 7 days',
  count: 2,
  oldest: new Date(Date.now() - 9 * 86_400_000).toISOString(),
};
const breachDetail = (r: ControllerRig) => r.alarms.list().find((a) => a.code === 'retention_breach')?.detail;

describe('compliance findings on the controller', () => {
  it('a status with findings raises retention_breach naming each kind; gone findings clear it', async () => {
    const { rig: r, fake, base } = await rig();
    expect(r.alarms.isActive('retention_breach')).toBe(false);
    await fake.publishAsync(`${base}/status`, sealed(`${base}/status`, status([SNAPSHOTS])), {
      qos: 1,
      retain: true,
    });
    await waitFor(() => r.alarms.isActive('retention_breach'), 3000, 'breach from a finding');
    expect(breachDetail(r)).toBe(`config_snapshots: ${SNAPSHOTS.detail}`);
    expect(r.controller.health()).toMatchObject({
      breach: true,
      findings: [SNAPSHOTS],
      skipped: [],
      recorder: { kind: 'frigate', version: '0.16.2' },
    });

    // A new kind raises the alarm anew, so its detail names it too.
    await fake.publishAsync(`${base}/status`, sealed(`${base}/status`, status([SNAPSHOTS, EXPORTS])), {
      qos: 1,
      retain: true,
    });
    await waitFor(() => /stale_exports: /.test(breachDetail(r) ?? ''), 3000, 'detail names the new kind');
    expect(breachDetail(r)).toBe(`config_snapshots: ${SNAPSHOTS.detail}; stale_exports: ${EXPORTS.detail}`);

    await fake.publishAsync(`${base}/status`, sealed(`${base}/status`, status([])), { qos: 1, retain: true });
    await waitFor(() => !r.alarms.isActive('retention_breach'), 3000, 'breach cleared');
    expect(r.controller.health().findings).toEqual([]);
  });

  it('a camera finding names the camera; a restart keeps the breach without raising it again', async () => {
    const { rig: r, fake, base, dbPath } = await rig();
    const cam: ComplianceFinding = {
      kind: 'config_alerts',
      detail: 'record.alerts.retain.days = 30 days',
      camera: '_hall',
    };
    await fake.publishAsync(`${base}/status`, sealed(`${base}/status`, status([cam])), {
      qos: 1,
      retain: true,
    });
    await waitFor(() => r.alarms.isActive('retention_breach'), 3000, 'breach from a camera finding');
    expect(breachDetail(r)).toBe('config_alerts: camera _hall: record.alerts.retain.days = 30 days');
    const raisedAt = r.alarms.list()[0]?.raisedAt;
    await r.close();
    const { log } = captureLog();
    const again = makeController(dbPath, null, log, testNvrConfig({ base_topic: base }));
    again.controller.start();
    try {
      expect(again.alarms.isActive('retention_breach')).toBe(true);
      expect(again.alarms.list()[0]?.raisedAt).toBe(raisedAt);
    } finally {
      await again.close();
    }
  });
});
