/**
 * The branch's copy of the fleet's rules, written by the worker process: blocks and passes as `fleet` rows
 * beside the ones made here (src/local-access), this site's schedule exceptions for the door process, and the
 * last valid document kept verbatim so a restart (or a week without the link) keeps it.
 *
 * The write is cut into short transactions so a door commit never waits long for the store's write lock.
 * Their order keeps every moment of the apply safe to decide from (docs/fleet-rules.md): new and changed
 * blocks first, then passes, and the blocks the new version lifts last. Meanwhile a card is refused if either
 * version blocks it, and its pass is one version's or the other's, never a mix of the two.
 */
import { audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';
import type { FleetRules } from './document.ts';
import { exceptionsForSite } from './exceptions.ts';

export interface AppliedRules {
  version: number;
  sha256: string;
  document: string;
  /** This site's exceptions as JSON once checked; null while not (see migration 016). */
  exceptions: string | null;
}

export interface ApplyCounts {
  blocks: number;
  passes: number;
  exceptions: number;
}

export interface ApplyOptions {
  now?: number;
  /** Each transaction is sized to take about this long (the door's commits wait at most that); none: one. */
  transactionBudgetMs?: number;
}

type Table = 'local_blocks' | 'local_passes';
type FleetRow = Record<string, string | number | null> & { card_hash: string };
type Op = { table: Table; remove: string } | { table: Table; write: FleetRow };

const forSite = (site: string, sites: string[] | undefined) => !sites || sites.includes(site);

/** The last applied document, as received, or undefined before the first. */
export function lastApplied(db: Db): AppliedRules | undefined {
  return db.prepare('SELECT version, sha256, document, exceptions FROM fleet_rules WHERE id = 1').get() as
    | AppliedRules
    | undefined;
}

/** Stores this site's exceptions of the (checked) stored document, or none (null) when it is not trusted. */
export function storeExceptions(db: Db, exceptions: FleetRules['exceptions'] | null): void {
  db.prepare('UPDATE fleet_rules SET exceptions = ? WHERE id = 1').run(
    exceptions === null ? null : JSON.stringify(exceptions),
  );
}

/**
 * Replaces every `fleet` block and pass by the document's (for this site, not yet expired), keeps the document
 * and this site's exceptions, with its audit record. Rows made here (`local`) are never touched. Runs through
 * at once (tests, the CLI); the worker uses applyRulesGently.
 */
export function applyRules(
  db: Db,
  site: string,
  rules: FleetRules,
  received: { document: string; sha256: string },
  now = Date.now(),
): ApplyCounts {
  const steps = applySteps(db, site, rules, received, { now });
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** The same, yielding to the event loop between transactions (the worker's other parts go on). */
export async function applyRulesGently(
  db: Db,
  site: string,
  rules: FleetRules,
  received: { document: string; sha256: string },
  options: ApplyOptions = {},
): Promise<ApplyCounts & { transactions: number }> {
  const steps = applySteps(db, site, rules, received, options);
  let transactions = 1;
  for (;;) {
    const step = steps.next();
    if (step.done) return { ...step.value, transactions };
    transactions++;
    // A door commit that met this transaction sleeps in SQLite's busy wait: leave it the lock for a while.
    const pause = options.transactionBudgetMs === undefined ? 0 : step.value * PAUSE_RATIO;
    await new Promise((resolve) => (pause >= 1 ? setTimeout(resolve, pause) : setImmediate(resolve)));
  }
}

/** After each transaction, a pause this many times its length (the door's share of the lock). */
const PAUSE_RATIO = 3;

/** One committed transaction per step (yielding its length in ms); the last one makes the version in force and audits it. */
function* applySteps(
  db: Db,
  site: string,
  rules: FleetRules,
  received: { document: string; sha256: string },
  options: ApplyOptions,
): Generator<number, ApplyCounts, void> {
  const now = options.now ?? Date.now();
  const blocks = rules.blocks.filter((b) => forSite(site, b.sites) && Date.parse(b.expires_at) > now);
  const passes = rules.passes.filter((p) => forSite(site, p.sites) && Date.parse(p.expires_at) > now);
  const exceptions = exceptionsForSite(rules, site);
  const counts = { blocks: blocks.length, passes: passes.length, exceptions: exceptions.length };
  const actor = `fleet:v${rules.version}`;
  const blockRows = blocks.map((b) => ({
    card_hash: b.card_hash,
    card_hint: b.card_hint ?? '',
    note: b.note,
    doors: null,
    expires_at: Date.parse(b.expires_at),
  }));
  const passRows = passes.map((p) => ({
    card_hash: p.card_hash,
    card_hint: p.card_hint ?? '',
    kind: p.kind,
    note: p.note,
    doors: null,
    hours: p.hours,
    camera_consent: p.camera_consent,
    expires_at: Date.parse(p.expires_at),
  }));
  // Only what changed is written: a new version usually differs by a few rows. The order is the safety
  // argument: blocks added before anything is lifted, lifted blocks removed after every pass is in place.
  const blockDiff = diffFleetRows(db, 'local_blocks', blockRows);
  const passDiff = diffFleetRows(db, 'local_passes', passRows);
  const ops: Op[] = [
    ...blockDiff.write.map((write) => ({ table: 'local_blocks' as const, write })),
    ...passDiff.write.map((write) => ({ table: 'local_passes' as const, write })),
    ...passDiff.remove.map((remove) => ({ table: 'local_passes' as const, remove })),
    ...blockDiff.remove.map((remove) => ({ table: 'local_blocks' as const, remove })),
  ];
  const statements = {
    local_blocks: writers(db, 'local_blocks', blockRows[0]),
    local_passes: writers(db, 'local_passes', passRows[0]),
  };
  const runBatch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const op = ops[i]!;
      if ('remove' in op) statements[op.table].remove.run(op.remove);
      else statements[op.table].upsert?.run({ ...op.write, created_by: actor, created_at: now });
    }
  });
  const budget = options.transactionBudgetMs;
  // With a budget, start small and let the measured transaction time set the size (as the anonymisation).
  let size = budget === undefined ? ops.length : 50;
  for (let done = 0; done < ops.length; ) {
    const started = performance.now();
    const to = Math.min(ops.length, done + size);
    runBatch(done, to);
    done = to;
    const ms = performance.now() - started;
    if (budget !== undefined) {
      const fit = Math.round((size * budget) / Math.max(ms, 0.01));
      size = Math.max(10, Math.min(5000, Math.round((size + fit) / 2)));
    }
    yield ms;
  }
  db.transaction(() => {
    db.prepare(
      `INSERT INTO fleet_rules (id, version, issued_at, document, sha256, applied_at, exceptions)
       VALUES (1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version, issued_at = excluded.issued_at,
         document = excluded.document, sha256 = excluded.sha256, applied_at = excluded.applied_at,
         exceptions = excluded.exceptions`,
    ).run(
      rules.version,
      rules.issued_at,
      received.document,
      received.sha256,
      now,
      JSON.stringify(exceptions),
    );
    audit(
      db,
      {
        actor: 'fleet',
        action: 'fleet_rules.applied',
        subject: `version ${rules.version}`,
        detail: { version: rules.version, issuedAt: rules.issued_at, sha256: received.sha256, ...counts },
      },
      now,
    );
  })();
  return counts;
}

function writers(db: Db, table: Table, sample: FleetRow | undefined) {
  const remove = db.prepare(`DELETE FROM ${table} WHERE card_hash = ? AND source = 'fleet'`);
  if (!sample) return { remove, upsert: undefined };
  const columns = Object.keys(sample);
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO ${table} (source, created_by, created_at, ${columns.join(', ')})
     VALUES ('fleet', @created_by, @created_at, ${columns.map((c) => `@${c}`).join(', ')})`,
  );
  return { remove, upsert };
}

/**
 * What makes the table's `fleet` rows equal to `wanted` (one per card hash; the last wins): the ones gone, and
 * the new and the changed; the same ones (and who made them) are left alone. `local` rows are never read.
 */
function diffFleetRows(db: Db, table: Table, wanted: FleetRow[]): { write: FleetRow[]; remove: string[] } {
  const fields = Object.keys(wanted[0] ?? { card_hash: '' }).filter((f) => f !== 'card_hash');
  const existing = new Map<string, FleetRow>();
  for (const row of db.prepare(`SELECT * FROM ${table} WHERE source = 'fleet'`).all() as FleetRow[])
    existing.set(row.card_hash, row);
  const byHash = new Map(wanted.map((row) => [row.card_hash, row]));
  const remove = [...existing.keys()].filter((hash) => !byHash.has(hash));
  const write = [...byHash.values()].filter((row) => {
    const old = existing.get(row.card_hash);
    return !old || !fields.every((f) => old[f] === row[f]);
  });
  return { write, remove };
}
