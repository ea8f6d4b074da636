/**
 * A large fleet document applied by the worker's side (its own connection to the same SQLite file, in short
 * transactions) while the door process's gate decides swipes on its connection: every swipe is decided from
 * rules some version holds. A card blocked in both versions is never let in, and a block the new version
 * lifts stays in force until every new block is written.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig, resolveConfigPaths } from '../../src/config/load.ts';
import type { FleetBlock } from '../../src/fleet-rules/document.ts';
import { FleetRulesReceiver } from '../../src/fleet-rules/receiver.ts';
import { signRules } from '../../src/fleet-rules/sign.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { localDate } from '../../src/time/zone.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { branchYaml, fleetKeys, IdleReader, inDays, rules } from './helpers.ts';

const BLOCKS = 10_000;
const BOTH = '10000001'; // blocked by the old and the new version
const OLD_ONLY = '10000002'; // blocked by the old version, lifted by the new
const NEW_ONLY = '10000003'; // blocked by the new version only
const FREE = '10000004'; // blocked by neither

describe('a swipe while the worker applies a large fleet document', () => {
  const dir = tempDir('fleet-apply-swipes-');
  const keys = fleetKeys();
  let app: App | undefined;
  let workerDb: Db | undefined;

  beforeAll(async () => {
    writeFileSync(join(dir.path, 'key'), 'fleet-wide-card-key-0123456789');
    writeFileSync(join(dir.path, 'fleet.pub'), keys.publicPem);
    const config = parseConfig(`
${branchYaml('branch1', `mqtt://127.0.0.1:${await freePort()}`)}log: { level: silent }
`);
    resolveConfigPaths(config, dir.path);
    app = await startApp({ config, log: createLogger('silent'), readerFor: () => new IdleReader() });
    const patrons = new LocalPatronSource(app.db, app.hashCard, () => localDate(new Date(), 'Europe/Oslo'));
    for (const card of [BOTH, OLD_ONLY, NEW_ONLY, FREE]) {
      patrons.put(card, { category: 'V', birthYear: 1980 });
      for (const kind of ['agreement', 'camera'] as const)
        app.consents.sign(app.hashCard(card), kind, '1', Date.now(), 'test');
    }
    workerDb = openDb(config.store.path);
  }, 120_000);

  afterAll(async () => {
    workerDb?.close();
    await app?.stop();
    dir.cleanup();
  });

  it('is decided from a consistent version: a card both versions block is never let in, no block is lost', async () => {
    const a = app!;
    const receiver = new FleetRulesReceiver({
      db: workerDb!,
      site: 'branch1',
      publicKey: keys.publicKey,
      alarms: { raise: () => undefined, clear: () => undefined },
      log: createLogger('silent'),
      transactionBudgetMs: 2,
    });
    const filler = Array.from({ length: BLOCKS - 2 }, () => randomBytes(32).toString('hex'));
    const block = (card_hash: string, days: number): FleetBlock => ({
      card_hash,
      note: 'from the centre',
      expires_at: inDays(days),
    });
    // Version 2 changes every block (a later expiry), so every row is written again; the probes come last.
    const v1 = rules(1, {
      blocks: [
        ...filler.map((h) => block(h, 30)),
        block(a.hashCard(OLD_ONLY), 30),
        block(a.hashCard(BOTH), 30),
      ],
    });
    const v2 = rules(2, {
      blocks: [
        ...filler.map((h) => block(h, 31)),
        block(a.hashCard(NEW_ONLY), 31),
        block(a.hashCard(BOTH), 31),
      ],
    });
    const payload = (doc: typeof v1) => Buffer.from(JSON.stringify(signRules(doc, keys.privateKey)));
    expect(await receiver.receive(payload(v1))).toMatchObject({ version: 1 });

    const swipe = async (card: string) => (await a.gate.handle(a.doors[0]!, { card })).decision.allow;
    const newRows = a.db.prepare("SELECT COUNT(*) FROM local_blocks WHERE created_by = 'fleet:v2'").pluck();
    let applying = true;
    const applied = receiver.receive(payload(v2)).finally(() => {
      applying = false;
    });
    const seen: { newRows: number; both: boolean; oldOnly: boolean; free: boolean }[] = [];
    while (applying) {
      // Swipes come in as reader I/O: the worker side's pauses between its transactions run meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
      const rowsBefore = newRows.get() as number;
      const decisions = { both: await swipe(BOTH), oldOnly: await swipe(OLD_ONLY), free: await swipe(FREE) };
      if (applying) seen.push({ newRows: Math.min(rowsBefore, newRows.get() as number), ...decisions });
    }
    expect(await applied).toMatchObject({ version: 2 });
    const midway = seen.filter((s) => s.newRows > 0 && s.newRows < BLOCKS);
    // The apply was many transactions and swipes were decided between them.
    expect(midway.length).toBeGreaterThan(3);
    expect(seen.filter((s) => s.both)).toEqual([]);
    // The old version's block holds while the new blocks are still being written.
    expect(seen.filter((s) => s.newRows < BLOCKS && s.oldOnly)).toEqual([]);
    expect(seen.every((s) => s.free)).toBe(true);
    // The new version in force.
    expect(await swipe(BOTH)).toBe(false);
    expect(await swipe(NEW_ONLY)).toBe(false);
    expect(await swipe(OLD_ONLY)).toBe(true);
    expect(a.db.prepare("SELECT COUNT(*) FROM local_blocks WHERE source = 'fleet'").pluck().get()).toBe(
      BLOCKS,
    );
  }, 180_000);
});
