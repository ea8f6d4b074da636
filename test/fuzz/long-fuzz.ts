/**
 * The long fuzz run, outside CI: `npm run fuzz [-- --bytes N --sip2 N --mqtt N --seed S]`.
 * Defaults: 1,000,000 random reader bytes (split over the three reader profiles) through the parsers
 * and the access gate; 2,000 hostile SIP2 answers through the real client; 100,000 hostile MQTT
 * payloads through every NVR parser. Exits 1 on any grant by mistake, throw, or pollution.
 */
import { parseArgs } from 'node:util';
import type { FrameProfile as ReaderProfile } from '../../src/reader/config.ts';
import { hostileJson, hostileSip2, mqttParsers, readerGate, sipHeader, sipReply } from './targets.ts';

const { values } = parseArgs({
  options: {
    bytes: { type: 'string', default: '1000000' },
    sip2: { type: 'string', default: '2000' },
    mqtt: { type: 'string', default: '100000' },
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

process.stdout.write(`long fuzz, seed ${seed}\n`);
await fuzzReader(Number(values.bytes));
await fuzzSip2(Number(values.sip2));
fuzzMqtt(Number(values.mqtt));
process.stdout.write(failures === 0 ? 'long fuzz: ok\n' : `long fuzz: ${failures} failures (seed ${seed})\n`);
process.exitCode = failures === 0 ? 0 : 1;
