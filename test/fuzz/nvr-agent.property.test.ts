import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportResponse, PurgeResponse } from '../../src/contract/nvr.ts';
import { parseExportRequest, parsePurgeRequest } from '../../src/nvr-agent/requests.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  agentConfig,
  bodyOf,
  captureLog,
  DAY,
  filesRoot,
  frigatePath,
  listFiles,
  listTree,
  mqttClient,
  sealed,
  startAgent,
  TEST_KEY,
  writeSegment,
} from '../nvr/helpers.ts';
import { MQTT_SCHEMAS } from './targets.ts';
import { fromSchema } from './schema-arbitrary.ts';

/**
 * Requests generated from the agent's own schemas, most of them valid, sent to a real agent over a real
 * broker, signed or not. Whatever they ask, the agent must never delete, hold or export for an unsigned or
 * wrongly signed request, and a signed purge must never take footage newer than min_keep_hours, newer than
 * its `before`, of a camera it did not name, or inside a hold it carries.
 */
const HOUR = 3_600_000;
const CAMERAS = ['door', 'hall'];
const AGES = [10 * 60_000, 2 * HOUR, 3 * DAY, 7 * DAY - 60_000, 7 * DAY + 60_000, 9 * DAY, 30 * DAY];
const PRESERVED_NOTHING = ['request dropped', 'purge request rejected', 'export request rejected'];

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());

/** `iso` + ms, or `iso` itself when it is not a date (the request stays as invalid as it was). */
const plus = (iso: string, ms: number) =>
  Number.isNaN(Date.parse(iso)) ? iso : new Date(Date.parse(iso) + ms).toISOString();

const EPOCH = '1970-01-01T00:00:00Z';
const EPOCH_PLUS_ONE = '1970-01-01T00:00:01Z';

type Auth = 'signed' | 'wrong_key' | 'unknown_key' | 'unsigned' | 'tampered';

function envelope(auth: Auth, topic: string, body: Record<string, unknown>): string {
  switch (auth) {
    case 'signed':
      return sealed(topic, body);
    case 'wrong_key':
      return sealed(topic, body, { id: TEST_KEY.id, secret: 'another-key-of-enough-length-0123456789' });
    case 'unknown_key':
      return sealed(topic, body, { id: 'other-1', secret: 'another-key-of-enough-length-0123456789' });
    case 'unsigned':
      return JSON.stringify(body);
    case 'tampered': {
      // Signed for a harmless body, then the body swapped for this one: the MAC no longer matches. The
      // harmless `before` differs from the body's own, or the swap would change nothing (seen in CI).
      const harmless = body.before === EPOCH ? EPOCH_PLUS_ONE : EPOCH;
      const env = JSON.parse(sealed(topic, { ...body, before: harmless })) as Record<string, unknown>;
      return JSON.stringify({ ...env, body });
    }
  }
}

describe('schema-generated requests to a real agent', () => {
  it('never delete, hold or export without a valid signature; signed purges keep what they must', async () => {
    const tmp = tempDir('nvr-fuzz-');
    const config = agentConfig(tmp.path, broker.url, {});
    const base = `fuzz${process.pid}`;
    config.mqtt.base_topic = base;
    const root = filesRoot(config);
    // Whole seconds: a Frigate path keeps no milliseconds, so a fixture's start is exactly its name.
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    const fixtures = CAMERAS.flatMap((camera) =>
      AGES.map((age) => ({ camera, start: t0 - age, rel: frigatePath(camera, t0 - age) })),
    );
    const restock = () => {
      for (const f of fixtures) if (!existsSync(`${root}/${f.rel}`)) writeSegment(root, f.rel);
    };
    restock();
    const { log, lines } = captureLog();
    const client = await mqttClient(broker.url);
    const answers = new Map<string, PurgeResponse | ExportResponse>();
    client.on('message', (_topic, payload) => {
      const answer = bodyOf<PurgeResponse | ExportResponse>(payload);
      if ('state' in answer && answer.state === 'accepted') return;
      answers.set(answer.id, answer);
    });
    await client.subscribeAsync([`${base}/purge/response`, `${base}/export/response`], { qos: 1 });
    const agent = await startAgent(config, log);
    const stats = { runs: 0, valid: 0, signed: 0, answered: 0, deleted: 0 };
    try {
      await waitFor(() => lines.some((l) => l.msg === 'connected to broker'), 5000, 'agent connected');
      // The rig can see a deletion: a plain signed purge at 7 days takes the older fixtures.
      const first = {
        id: 'sanity-1',
        before: new Date(t0 - 7 * DAY).toISOString(),
        cameras: [],
        holds: [],
        ts: new Date().toISOString(),
      };
      await client.publishAsync(`${base}/purge/request`, sealed(`${base}/purge/request`, first), { qos: 1 });
      await waitFor(() => answers.get('sanity-1'), 5000, 'sanity purge answer');
      expect(listFiles(root)).toHaveLength(fixtures.length - 3 * CAMERAS.length);
      restock();
      const purge = fromSchema(MQTT_SCHEMAS.purgeRequest, { now: t0 });
      const exp = fromSchema(MQTT_SCHEMAS.exportRequest, { now: t0 });
      const cameraPick = fc.oneof(fc.constant([]), fc.subarray(CAMERAS, { minLength: 1 }));
      // Schema values, then nudged where the schema alone rarely lands on something the agent would do:
      // cameras that exist, and export windows short enough to be allowed.
      const request = fc.oneof(
        fc
          .tuple(
            purge,
            cameraPick,
            fc.boolean(),
            fc.integer({ min: 60_000, max: 30 * HOUR }),
            fc.constantFrom(-HOUR, 0, 5 * 60_000, 30 * 60_000, 90 * 60_000, 3 * DAY, 7 * DAY, 8 * DAY),
          )
          .map(([r, cameras, real, width, age]) => {
            const body: Record<string, unknown> = { ...(r as Record<string, unknown>) };
            if (real) {
              body.cameras = cameras;
              // Around the fixtures' ages and min_keep_hours, with a fresh ts.
              body.before = new Date(t0 - age).toISOString();
              body.ts = new Date().toISOString();
              body.holds = (body.holds as { from: string }[]).map((h) => ({ ...h, to: plus(h.from, width) }));
            }
            return { kind: 'purge' as const, body };
          }),
        fc
          .tuple(exp, cameraPick, fc.boolean(), fc.integer({ min: 60_000, max: 30 * HOUR }))
          .map(([r, cameras, real, width]) => {
            const body: Record<string, unknown> = { ...(r as Record<string, unknown>) };
            if (real) {
              body.cameras = cameras;
              body.to = plus(String(body.from), width);
            }
            return { kind: 'export' as const, body };
          }),
      );
      const auth = fc.constantFrom<Auth>(
        'signed',
        'signed',
        'signed',
        'wrong_key',
        'unknown_key',
        'unsigned',
        'tampered',
      );

      await fc.assert(
        fc.asyncProperty(request, auth, async ({ kind, body }, how) => {
          stats.runs++;
          restock();
          const id = String(body.id);
          answers.delete(id);
          const topic = `${base}/${kind}/request`;
          const payload = Buffer.from(JSON.stringify(body));
          const valid = (kind === 'purge' ? parsePurgeRequest(payload) : parseExportRequest(payload)).ok;
          if (valid) stats.valid++;
          if (how === 'signed') stats.signed++;
          const filesBefore = listFiles(root);
          const exportsBefore = existsSync(config.exports_dir) ? listTree(config.exports_dir) : [];
          const stateBefore = existsSync(config.state_file) ? readFileSync(config.state_file, 'utf8') : '';
          const seen = lines.length;
          await client.publishAsync(topic, envelope(how, topic, body), { qos: 1 });
          // The agent's own acknowledgement: an answer to this id, or the log line of a drop or rejection.
          await waitFor(
            () => answers.has(id) || lines.slice(seen).some((l) => PRESERVED_NOTHING.includes(l.msg)),
            10_000,
            `the agent's reaction to ${kind} ${id} (${how})`,
          );
          await agent.idle();
          if (answers.has(id)) stats.answered++;
          const gone = filesBefore.filter((f) => !listFiles(root).includes(f));
          stats.deleted += gone.length;
          const exportsAfter = existsSync(config.exports_dir) ? listTree(config.exports_dir) : [];
          const stateAfter = existsSync(config.state_file) ? readFileSync(config.state_file, 'utf8') : '';
          if (how !== 'signed') {
            expect(answers.has(id)).toBe(false);
            expect(gone).toEqual([]);
            expect(exportsAfter).toEqual(exportsBefore);
            expect(stateAfter).toEqual(stateBefore);
            return;
          }
          if (kind === 'export') {
            expect(gone).toEqual([]);
            return;
          }
          const before = Date.parse(String(body.before));
          const cameras = body.cameras as string[];
          const holds = body.holds as { from: string; to: string; cameras: string[] }[];
          for (const rel of gone) {
            const f = fixtures.find((x) => x.rel === rel)!;
            expect(f.start).toBeLessThan(before);
            expect(f.start).toBeLessThan(Date.now() - config.min_keep_hours * HOUR);
            if (cameras.length > 0) expect(cameras).toContain(f.camera);
            for (const h of holds) {
              const inside = f.start >= Date.parse(h.from) && f.start <= Date.parse(h.to);
              if (inside && (h.cameras.length === 0 || h.cameras.includes(f.camera)))
                throw new Error(`${rel} deleted inside hold ${h.from} – ${h.to}`);
            }
          }
          expect(exportsAfter).toEqual(exportsBefore);
        }),
        { numRuns: Number(process.env.FUZZ_AGENT_RUNS ?? 60) },
      );
    } finally {
      await agent.stop();
      await client.endAsync();
      tmp.cleanup();
    }
    if (process.env.FUZZ_REPORT) console.log(`agent fuzz: ${JSON.stringify(stats)}`);
    // The generated requests mostly pass validation and reach the handlers, which answer them.
    expect(stats.valid / stats.runs).toBeGreaterThan(0.3);
    expect(stats.answered).toBeGreaterThan(stats.signed * 0.2);
  }, 120_000);
});
