/**
 * Fuzzed bytes from the reader's side of the bus: the control panel never throws, and over an
 * established secure channel nothing but an untouched, correctly MACed reply ever yields a card.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PdLink, type Security } from '../../../src/reader/osdp/link.ts';
import { crc16 } from '../../../src/reader/osdp/crc.ts';
import { PacketReader } from '../../../src/reader/osdp/protocol.ts';
import { PdDevice } from './pd-simulator.ts';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

function pair(security: Security) {
  const link = new PdLink({
    address: 0,
    security,
    key: () => KEY,
    offlineAfter: 3,
    handshakeRetryMs: 0,
    offlineRetryMs: 0,
  });
  const device = new PdDevice({ address: 0, key: KEY, install: security === 'install' });
  const cards: string[] = [];
  link.on('card', (c) => cards.push(c));
  let now = 0;
  const reader = new PacketReader();
  /** One exchange; `tamper` may change the reply's bytes and how they are chunked. */
  const exchange = (tamper?: (reply: Buffer) => Buffer[]) => {
    now += 1000;
    const command = link.next(now);
    if (!command) return;
    const reply = device.handle(Buffer.from(command));
    const chunks = reply ? (tamper ? tamper(reply) : [reply]) : [];
    reader.reset();
    let answered = false;
    for (const chunk of chunks)
      for (const r of reader.push(chunk)) if (r.ok && !answered) answered = link.reply(r.packet, now);
    if (!answered) link.timeout(now);
  };
  const settle = () => {
    for (let i = 0; i < 10 && !(security === 'plaintext' ? link.isOnline : link.secure); i++) exchange();
    for (let i = 0; i < 2; i++) exchange(); // past LSTAT, into polling
  };
  return { link, device, cards, exchange, settle };
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('replace' as const), bytes: fc.uint8Array({ maxLength: 80 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** Anyone on the wire can compute a CRC: with `recheck` the mutated packet gets a right length and CRC-16. */
function reframe(bytes: Buffer): Buffer {
  if (bytes.length < 8 || bytes[0] !== 0x53) return bytes;
  const out = Buffer.from(bytes);
  out.writeUInt16LE(out.length, 2);
  out[4] = out[4]! | 0x04;
  const crc = crc16(out, 0, out.length - 2);
  out.writeUInt16LE(crc, out.length - 2);
  return out;
}

function mutate(reply: Buffer, m: Mutation): Buffer {
  const at = 'at' in m ? m.at % reply.length : 0;
  switch (m.kind) {
    case 'flip': {
      const copy = Buffer.from(reply);
      copy[at] = copy[at]! ^ (1 << m.bit);
      return copy;
    }
    case 'cut':
      return reply.subarray(0, at);
    case 'insert':
      return Buffer.concat([reply.subarray(0, at), Buffer.of(m.byte), reply.subarray(at)]);
    case 'replace':
      return Buffer.from(m.bytes);
  }
}

const split = (bytes: Buffer, cuts: number[]) => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
};

describe('fuzzed replies from the reader side', () => {
  it('the harness delivers an untouched card over the secure channel (control)', () => {
    const { link, device, cards, exchange, settle } = pair('key');
    settle();
    expect(link.secure).toBe(true);
    device.present('62E3086CED');
    exchange();
    expect(cards).toEqual(['62E3086CED']);
  });

  it('secure channel: a changed, cut, grown or replaced card reply never yields a card, and nothing throws', () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.boolean(),
        (ms, cuts, recheck) => {
          const { link, device, cards, exchange, settle } = pair('key');
          settle();
          for (const m of ms) {
            device.present('62E3086CED');
            exchange((reply) => {
              const mutated = mutate(reply, m);
              const changed = recheck ? reframe(mutated) : mutated;
              // Noise around an intact reply is skipped by design: only a reply whose own bytes changed counts.
              return changed.includes(reply) ? [] : split(changed, cuts);
            });
          }
          expect(cards).toEqual([]);
          // The session a bad MAC broke is set up again: the reader is not lost for good.
          for (let i = 0; i < 8 && !link.secure; i++) exchange();
          expect(link.secure).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('plaintext: arbitrary bytes in any chunks never throw, and a card only comes from a well-formed RAW reply', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const { cards, exchange, settle } = pair('plaintext');
        settle();
        for (const chunk of chunks) exchange(() => [Buffer.from(chunk)]);
        // Random bytes with a valid CRC-16 and the right sequence number do not happen in 300 runs.
        expect(cards).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
