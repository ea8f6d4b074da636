/**
 * Issue 16 item 4: the fleet's rules are checked and applied in the worker process. Swipe → decision in the
 * door process (the gate on a real store file) while another process, at the worker's priority, applies a
 * 10,000-block document, against quiet; and what the old place cost: the same check and apply on the door's
 * event loop, which a swipe arriving then waited for.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startApp } from '../src/app.ts';
import { parseConfig, resolveConfigPaths } from '../src/config/load.ts';
import { applyRules } from '../src/fleet-rules/apply.ts';
import type { FleetRules } from '../src/fleet-rules/document.ts';
import { publicKeyOf, signRules, verifyRules } from '../src/fleet-rules/sign.ts';
import { createLogger } from '../src/log/logger.ts';
import { LocalPatronSource } from '../src/patrons/local-registry.ts';
import { openDb } from '../src/store/db.ts';
import { localDate } from '../src/time/zone.ts';
import { WORKER_NICE } from '../src/worker/supervisor.ts';
import { branchYaml, IdleReader } from '../test/fleet-rules/helpers.ts';
import { freePort } from '../test/helpers/ports.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import type { Figures } from './door-loop.ts';
import { percentile } from './worker-load.ts';

const BLOCKS = Number(process.env.FLEET_BLOCKS ?? 10_000);
const QUIET_SWIPES = 300;
/** Between swipes: far more often than a door sees them, yet leaving the worker the gaps a real door leaves. */
const SWIPE_EVERY_MS = 20;
const CARDS = ['30000001', '30000002', '30000003'];

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const hex = (i: number, salt: string) => createHash('sha256').update(`${salt}${i}`).digest('hex');
function doc(version: number, days: number, blocked: string[]): FleetRules {
  return {
    version,
    issued_at: new Date().toISOString(),
    blocks: [
      ...Array.from({ length: BLOCKS - blocked.length }, (_, i) => ({
        card_hash: hex(i, 'bench'),
        card_hint: String(i % 10_000).padStart(4, '0'),
        note: 'card reported stolen',
        expires_at: inDays(days),
      })),
      ...blocked.map((card_hash) => ({ card_hash, note: 'card reported stolen', expires_at: inDays(days) })),
    ],
    passes: [],
    exceptions: [],
  };
}

export async function benchFleetRules(): Promise<Figures[]> {
  const dir = tempDir('bench-fleet-rules-');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir.path, 'key'), 'bench-fleet-card-key-0123456789');
  writeFileSync(join(dir.path, 'fleet.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const config = parseConfig(`
${branchYaml('bench', `mqtt://127.0.0.1:${await freePort()}`)}log: { level: silent }
`);
  resolveConfigPaths(config, dir.path);
  const app = await startApp({ config, log: createLogger('silent'), readerFor: () => new IdleReader() });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const patrons = new LocalPatronSource(app.db, app.hashCard, () => localDate(new Date(), 'Europe/Oslo'));
    for (const card of CARDS) {
      patrons.put(card, { category: 'V', birthYear: 1980 });
      for (const kind of ['agreement', 'camera'] as const)
        app.consents.sign(app.hashCard(card), kind, '1', Date.now(), 'bench');
    }
    const blocked = [app.hashCard(CARDS[0]!)];
    const files = [doc(1, 30, blocked), doc(2, 31, blocked)].map((d, i) => {
      const file = join(dir.path, `rules-${i + 1}.json`);
      writeFileSync(file, JSON.stringify(signRules(d, privateKey)));
      return file;
    });
    const door = app.doors[0]!;
    const swipe = async (i: number) => {
      await new Promise((resolve) => setTimeout(resolve, SWIPE_EVERY_MS));
      const started = performance.now();
      await app.gate.handle(door, { card: CARDS[i % CARDS.length]! });
      return performance.now() - started;
    };
    const figures = (load: string, samples: number[], extra: Figures = {}): Figures => {
      samples.sort((a, b) => a - b);
      return {
        load,
        'swipe→decision p50 (ms)': +percentile(samples, 50).toFixed(2),
        'swipe→decision p99 (ms)': +percentile(samples, 99).toFixed(2),
        'swipe→decision max (ms)': +samples.at(-1)!.toFixed(2),
        swipes: samples.length,
        ...extra,
      };
    };

    // The worker's side, as the worker runs: its own process and connection, at the worker's priority.
    child = spawn(
      'nice',
      [
        '-n',
        String(WORKER_NICE),
        process.execPath,
        'bin/run-ts.mjs',
        'bench/fleet-rules-worker.ts',
        config.store.path,
        join(dir.path, 'fleet.pub'),
        ...files,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const reports = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const report = async () =>
      JSON.parse(String((await reports.next()).value)) as {
        verifyMs: number;
        applyMs: number;
        transactions: number;
        blocks: number;
      };
    const first = await report();

    const quiet: number[] = [];
    for (let i = 0; i < QUIET_SWIPES; i++) quiet.push(await swipe(i));

    let applying = true;
    const second = report().finally(() => {
      applying = false;
    });
    child.stdin!.write('go\n');
    const during: number[] = [];
    for (let i = 0; applying; i++) during.push(await swipe(i));
    const changed = await second;

    // The old place: the same check and one-transaction apply on the door's own event loop.
    const oldDb = openDb(join(dir.path, 'old.sqlite'));
    const payload = JSON.stringify(signRules(doc(1, 30, blocked), privateKey));
    const verifyStarted = performance.now();
    const checked = verifyRules(payload, publicKeyOf(publicKey.export({ type: 'spki', format: 'pem' })));
    const oldVerifyMs = performance.now() - verifyStarted;
    if (!checked.ok) throw new Error('bench document refused');
    const applyStarted = performance.now();
    applyRules(oldDb, 'bench', checked.rules, { document: payload, sha256: 'old' });
    const oldApplyMs = performance.now() - applyStarted;
    oldDb.close();

    const ms = (n: number) => +n.toFixed(1);
    return [
      figures('quiet', quiet),
      figures(`worker applies ${BLOCKS} changed blocks`, during, {
        'worker verify (ms)': ms(changed.verifyMs),
        'worker apply (ms)': ms(changed.applyMs),
        transactions: changed.transactions,
      }),
      {
        what: `worker: first document of ${BLOCKS} blocks into an empty store`,
        'verify (ms)': ms(first.verifyMs),
        'apply (ms)': ms(first.applyMs),
        transactions: first.transactions,
      },
      {
        what: 'before this change: check + apply on the door loop (a swipe then waited this long)',
        'verify (ms)': ms(oldVerifyMs),
        'apply, one transaction (ms)': ms(oldApplyMs),
        'door loop held (ms)': ms(oldVerifyMs + oldApplyMs),
      },
    ];
  } finally {
    child?.kill();
    await app.stop();
    dir.cleanup();
  }
}
