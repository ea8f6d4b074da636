/**
 * The long fuzz run, outside CI: `npm run fuzz [-- --bytes N --sip2 N --mqtt N --seed S]`.
 * Defaults: 1,000,000 random reader bytes (split over the three reader profiles) through the parsers
 * and the access gate; 2,000 hostile SIP2 answers through the real client; 100,000 hostile MQTT
 * payloads through every NVR parser. Exits 1 on any grant by mistake, throw, or pollution.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import type { FrameProfile as ReaderProfile } from '../../src/reader/config.ts';
import {
  hostileJson,
  hostileSip2,
  hostileSipReply,
  MQTT_PARSERS,
  MQTT_SCHEMAS,
  mqttParsers,
  readerGate,
  SIP_CARD,
  sealSipBody,
  sipHeader,
  sipReply,
  sipReplyBody,
} from './targets.ts';
import { breakOne, fromSchema } from './schema-arbitrary.ts';

const { values } = parseArgs({
  options: {
    bytes: { type: 'string', default: '1000000' },
    sip2: { type: 'string', default: '2000' },
    'sip2-fields': { type: 'string', default: '2000' },
    mqtt: { type: 'string', default: '100000' },
    'mqtt-schema': { type: 'string', default: '20000' },
    seed: { type: 'string' },
  },
});
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
let state = seed >>> 0;
/** mulberry32: small, fast, seeded. */
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}
const SPECIAL = [0x02, 0x03, 0x0d, 0x0a, 0x23, 0x2a, 0x20, 0x00, 0x7f, 0xff];
const HEX = [...'0123456789ABCDEF'].map((c) => c.charCodeAt(0));
function randomByte(): number {
  const r = rand();
  if (r < 0.55) return Math.floor(rand() * 256);
  if (r < 0.7) return SPECIAL[Math.floor(rand() * SPECIAL.length)]!;
  return HEX[Math.floor(rand() * HEX.length)]!;
}

let failures = 0;
const fail = (what: string) => {
  failures++;
  process.stdout.write(`FAIL ${what}\n`);
};

async function fuzzReader(totalBytes: number): Promise<void> {
  const profiles: ReaderProfile[] = ['line', 'stx-etx', 'keypad'];
  for (const profile of profiles) {
    const target = readerGate(profile);
    const t0 = performance.now();
    let chunks = 0;
    while (target.stats.bytes < totalBytes / profiles.length) {
      const size = 1 + Math.floor(rand() * 64);
      const chunk = new Uint8Array(size);
      for (let i = 0; i < size; i++) chunk[i] = randomByte();
      target.push(chunk);
      if (rand() < 0.03) target.pushValid(Math.floor(rand() * 1000));
      if (++chunks % 64 === 0) await target.drain();
    }
    await target.drain();
    target.close();
    const s = target.stats;
    process.stdout.write(
      `reader ${profile.padEnd(7)}: ${s.bytes} bytes, ${s.swipes} swipes decided, ${s.rejected} frames rejected, ` +
        `${s.grants} grants (${s.validFramesSent} valid frames sent), ${s.mistakenGrants} by mistake, ` +
        `${Math.round(performance.now() - t0)} ms\n`,
    );
    if (s.mistakenGrants > 0) fail(`reader ${profile}: ${s.mistakenGrants} grants by mistake`);
    // Garbage may eat a valid frame that follows it (no terminator yet), never invent one.
    if (s.grants > s.validFramesSent) fail(`reader ${profile}: more grants than valid frames`);
  }
}

async function fuzzSip2(runs: number): Promise<void> {
  const sip = await hostileSip2();
  const t0 = performance.now();
  const verdicts = new Map<string, number>();
  let grants = 0;
  try {
    // The unmutated good answer grants: the target can fail.
    sip.setAnswer((seq) => sipReply(seq, '10000001', false));
    if ((await sip.verdict('10000001')) !== 'allow') fail('sip2: the good answer does not grant');
    for (let i = 0; i < runs; i++) {
      const kind = Math.floor(rand() * 5);
      sip.setAnswer((seq) => {
        if (kind === 0) {
          return Buffer.from(Array.from({ length: Math.floor(rand() * 120) }, randomByte).concat(0x0d));
        }
        if (kind === 1) {
          const tail = Array.from({ length: Math.floor(rand() * 80) }, randomByte);
          return Buffer.concat([Buffer.from(sipHeader(), 'latin1'), Buffer.from(tail), Buffer.from('\r')]);
        }
        // One byte changed in an answer that would deny (blocked), or grant another card, or grant
        // this card truncated: the checksum or the echo check must catch it.
        const base =
          kind === 2
            ? sipReply(seq, '10000001', true)
            : sipReply(seq, kind === 3 ? '10000002' : '10000001', false);
        const frame = Buffer.from(base);
        if (kind === 4) return frame.subarray(0, Math.floor(rand() * (frame.length - 1)));
        const at = Math.floor(rand() * (frame.length - 5));
        let value = Math.floor(rand() * 256);
        if (value === 0x0d || value === 0x0a || value === frame[at]) value = frame[at]! ^ 0x01;
        frame[at] = value;
        return frame;
      });
      const verdict = await sip.verdict('10000001');
      verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      if (verdict === 'allow') {
        grants++;
        fail(`sip2: hostile answer kind ${kind} granted`);
      }
    }
  } finally {
    await sip.close();
  }
  process.stdout.write(
    `sip2          : ${runs} hostile answers, ${grants} grants by mistake, verdicts ${JSON.stringify(Object.fromEntries(verdicts))}, ${Math.round(performance.now() - t0)} ms\n`,
  );
}

/**
 * Hostile answers that pass error detection (a valid checksum), and the same with error detection off on
 * both sides: the bytes reach the field parser and the standing rules, not only the checksum check.
 */
async function fuzzSip2Fields(runs: number, errorDetection: boolean): Promise<void> {
  const sip = await hostileSip2({ errorDetection });
  const mode = errorDetection ? 'checksums valid' : 'checksums off';
  const t0 = performance.now();
  const verdicts = new Map<string, number>();
  let mayAllow = 0;
  try {
    sip.setAnswer((seq) => sealSipBody(sipReplyBody(SIP_CARD, false), seq, errorDetection));
    if ((await sip.verdict(SIP_CARD)) !== 'allow') fail(`sip2 (${mode}): the good answer does not grant`);
    for (let i = 0; i < runs; i++) {
      const reply = hostileSipReply(rand);
      if (reply.mayAllow) mayAllow++;
      sip.setAnswer((seq) => sealSipBody(reply.body, seq, errorDetection));
      const verdict = await sip.verdict(SIP_CARD);
      verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      if (verdict === 'allow' && !reply.mayAllow)
        fail(`sip2 (${mode}): granted on ${reply.body.toString('latin1').slice(0, 120)}`);
    }
  } finally {
    await sip.close();
  }
  const parsed = runs - (verdicts.get('unavailable') ?? 0);
  process.stdout.write(
    `sip2 fields   : ${runs} hostile answers (${mode}), ${parsed} read to a verdict ` +
      `(${((parsed / Math.max(1, runs)) * 100).toFixed(1)} %), ${mayAllow} that SIP2 would allow, ` +
      `verdicts ${JSON.stringify(Object.fromEntries(verdicts))}, ${Math.round(performance.now() - t0)} ms\n`,
  );
}

function fuzzMqtt(runs: number): void {
  const t0 = performance.now();
  let accepted = 0;
  for (let i = 0; i < runs; i++) {
    const r = rand();
    const payload =
      r < 0.5
        ? Buffer.from(hostileJson(rand))
        : r < 0.9
          ? Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, randomByte))
          : Buffer.alloc(70_000 + Math.floor(rand() * 1000), 0x20);
    const result = mqttParsers(payload);
    if (result.threw.length > 0)
      fail(`mqtt: ${result.threw.join(',')} threw on ${payload.subarray(0, 80).toString()}`);
    if (result.polluted) fail('mqtt: Object.prototype polluted');
    if (result.accepted.length > 0) accepted++;
  }
  process.stdout.write(
    `mqtt          : ${runs} hostile payloads × 5 parsers, ${accepted} accepted by some parser (well-formed), 0 throws expected, ${Math.round(performance.now() - t0)} ms\n`,
  );
}

/**
 * Payloads generated from each parser's JSON schema (most valid, a fifth broken in one place): the values
 * that get past validation are the hostile ones. Reports the share each parser accepts.
 */
function fuzzMqttSchemas(runs: number): void {
  const t0 = performance.now();
  const names = Object.keys(MQTT_PARSERS) as (keyof typeof MQTT_PARSERS)[];
  const shares: string[] = [];
  let total = 0;
  let totalAccepted = 0;
  for (const name of names) {
    const count = Math.ceil(runs / names.length);
    const arb = fromSchema(MQTT_SCHEMAS[name], { now: Date.now() });
    const values = fc.sample(arb, { numRuns: count, seed: seed + name.length });
    let accepted = 0;
    values.forEach((value, i) => {
      const broken = rand() < 0.2;
      const payload = Buffer.from(JSON.stringify(broken ? breakOne(value, i) : value));
      const result = mqttParsers(payload);
      if (result.threw.length > 0)
        fail(`mqtt schema: ${result.threw.join(',')} threw on ${payload.subarray(0, 120).toString()}`);
      if (result.polluted) fail('mqtt schema: Object.prototype polluted');
      if (result.accepted.includes(name)) accepted++;
    });
    total += count;
    totalAccepted += accepted;
    shares.push(`${name} ${((accepted / count) * 100).toFixed(1)} %`);
  }
  process.stdout.write(
    `mqtt schema   : ${total} payloads from the schemas, ${((totalAccepted / total) * 100).toFixed(1)} % pass ` +
      `validation (${shares.join(', ')}), 0 throws expected, ${Math.round(performance.now() - t0)} ms\n`,
  );
}

process.stdout.write(`long fuzz, seed ${seed}\n`);
await fuzzReader(Number(values.bytes));
await fuzzSip2(Number(values.sip2));
await fuzzSip2Fields(Number(values['sip2-fields']), true);
await fuzzSip2Fields(Number(values['sip2-fields']), false);
fuzzMqtt(Number(values.mqtt));
fuzzMqttSchemas(Number(values['mqtt-schema']));
process.stdout.write(failures === 0 ? 'long fuzz: ok\n' : `long fuzz: ${failures} failures (seed ${seed})\n`);
process.exitCode = failures === 0 ? 0 : 1;
