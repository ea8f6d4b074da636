/**
 * The worker's side for bench/fleet-rules.ts, in its own process at the worker's priority: checks and applies
 * signed fleet documents into the store as the worker does (short transactions), and prints what each cost.
 * Usage: node bin/run-ts.mjs bench/fleet-rules-worker.ts STORE PUBLIC_KEY_FILE PAYLOAD_FILE…
 * Applies the first payload at once, then each next one after a line on stdin; one JSON line per payload.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { applyRulesGently } from '../src/fleet-rules/apply.ts';
import { publicKeyOf, verifyRules } from '../src/fleet-rules/sign.ts';
import { openDb } from '../src/store/db.ts';

const [store, keyFile, ...payloads] = process.argv.slice(2);
if (!store || !keyFile || payloads.length === 0) {
  console.error('usage: fleet-rules-worker.ts STORE PUBLIC_KEY_FILE PAYLOAD_FILE…');
  process.exit(2);
}
const db = openDb(store);
const publicKey = publicKeyOf(readFileSync(keyFile));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

for (const [i, file] of payloads.entries()) {
  if (i > 0) await lines.next();
  const payload = readFileSync(file);
  const started = performance.now();
  const checked = verifyRules(payload, publicKey);
  const verifyMs = performance.now() - started;
  if (!checked.ok) throw new Error(`bench payload refused: ${checked.why}`);
  const applyStarted = performance.now();
  const applied = await applyRulesGently(
    db,
    'bench',
    checked.rules,
    { document: payload.toString('utf8'), sha256: String(i) },
    { transactionBudgetMs: 2 },
  );
  const applyMs = performance.now() - applyStarted;
  console.log(JSON.stringify({ version: checked.rules.version, verifyMs, applyMs, ...applied }));
}
db.close();
process.exit(0);
