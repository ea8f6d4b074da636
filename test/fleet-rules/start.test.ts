/**
 * The door's start never checks the fleet's signature: it opens from the exceptions the worker stored after
 * checking them. A stored document that no longer verifies (the key was rotated) still gives the doors their
 * stored closure at once; the worker, after the doors are open, finds it untrusted, raises the alarm, counts
 * it, and tells the door, which then leaves those exceptions out. The stored block stays in force.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig, resolveConfigPaths } from '../../src/config/load.ts';
import { applyRules } from '../../src/fleet-rules/apply.ts';
import { signRules } from '../../src/fleet-rules/sign.ts';
import { createLogger } from '../../src/log/logger.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { openDb } from '../../src/store/db.ts';
import { localDate } from '../../src/time/zone.ts';
import { WorkerSupervisor } from '../../src/worker/supervisor.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { branchYaml, fleetKeys, IdleReader, inDays, rules } from './helpers.ts';

const CARD = '24681357';
const CARD_KEY = 'fleet-wide-card-key-0123456789';

describe('a branch start with a stored fleet document', () => {
  const dir = tempDir('fleet-start-');
  let app: App | undefined;
  let worker: WorkerSupervisor | undefined;
  afterAll(async () => {
    await worker?.stop();
    await app?.stop();
    dir.cleanup();
  });

  it('opens the doors from the stored exceptions without a signature check; the worker raises the alarm later', async () => {
    const before = fleetKeys();
    const rotated = fleetKeys();
    writeFileSync(join(dir.path, 'key'), CARD_KEY);
    writeFileSync(join(dir.path, 'fleet.pub'), rotated.publicPem);
    const config = parseConfig(`
${branchYaml('branch1', `mqtt://127.0.0.1:${await freePort()}`)}web: { enabled: false }
log: { level: silent }
`);
    resolveConfigPaths(config, dir.path);
    // What the worker stored when this document verified with the key of the time.
    const doc = rules(4, {
      blocks: [
        { card_hash: cardHasher(CARD_KEY)(CARD), note: 'card reported stolen', expires_at: inDays(30) },
      ],
      exceptions: [{ date: localDate(new Date(), 'Europe/Oslo'), closed: true, note: 'staff day' }],
    });
    const document = JSON.stringify(signRules(doc, before.privateKey));
    const seed = openDb(config.store.path);
    applyRules(seed, 'branch1', doc, {
      document,
      sha256: createHash('sha256').update(document).digest('hex'),
    });
    seed.close();

    app = await startApp({ config, log: createLogger('silent'), readerFor: () => new IdleReader() });
    // Door ready: the stored closure is in force, and nothing has looked at the signature.
    expect(app.doors[0]!.scheduleState()).toBe('closed');
    expect(app.alarms.isActive('fleet_rules_rejected')).toBe(false);
    expect(
      app.db.prepare("SELECT COUNT(*) FROM audit WHERE action = 'fleet_rules.rejected'").pluck().get(),
    ).toBe(0);

    const a = app;
    worker = new WorkerSupervisor({
      config,
      bus: a.bus,
      alarms: a.alarms,
      doors: a.doors,
      nvr: () => undefined,
      fleetRules: {
        changed: (version) => a.fleetRules?.changed(version),
        rejected: (why) => a.metrics.fleetRulesRejected.inc({ why }),
      },
      log: createLogger('silent'),
      logLevel: 'silent',
    });
    await worker.start();
    await waitFor(() => a.alarms.isActive('fleet_rules_rejected'), 30_000, 'the alarm from the worker');
    const counted = (await a.metrics.fleetRulesRejected.get()).values.find(
      (v) => v.labels.why === 'bad_signature',
    );
    expect(counted?.value).toBe(1);
    expect(
      a.db.prepare("SELECT reason FROM audit WHERE action = 'fleet_rules.rejected'").pluck().all(),
    ).toEqual(['bad_signature']);
    // Told by the worker, the door leaves the untrusted exceptions out; the stored block stays.
    await waitFor(() => a.doors[0]!.scheduleState() === 'staffless', 60_000, 'the closure left out');
    expect(a.db.prepare('SELECT exceptions FROM fleet_rules').pluck().get()).toBeNull();
    expect((await a.gate.handle(a.doors[0]!, { card: CARD })).decision.reason).toBe('blocked_locally');
  }, 120_000);
});
