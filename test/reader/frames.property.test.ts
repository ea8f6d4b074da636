import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FrameProfile as ReaderProfile } from '../../src/reader/config.ts';
import { compileCardPattern, createParser, type FrameResult } from '../../src/reader/frames.ts';

const RUNS = { numRuns: 1000 };
const HEX = [...'0123456789ABCDEFabcdef'].map((c) => c.charCodeAt(0));
const bytesOf = (s: string) => [...Buffer.from(s, 'latin1')];

function checksum(data: string): string {
  let xor = 0;
  for (let i = 0; i < 10; i += 2) xor ^= Number.parseInt(data.slice(i, i + 2), 16);
  return xor.toString(16).toUpperCase().padStart(2, '0');
}

/** Bytes that matter to the parsers, plus anything at all. */
const byte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x02, 0x03, 0x0d, 0x0a, 0x23, 0x2a, 0x20),
  fc.constantFrom(...HEX),
);
const hexData = fc
  .array(fc.constantFrom(...HEX), { minLength: 10, maxLength: 10 })
  .map((a) => String.fromCharCode(...a));
/** Valid and nearly valid EM4100 frames, so the streams hold real frames often. */
const frameLike = fc
  .tuple(hexData, fc.constantFrom('none', 'good', 'bad'), fc.boolean())
  .map(([data, sum, crlf]) => {
    const tail =
      sum === 'none' ? '' : sum === 'good' ? checksum(data) : checksum(data) === '00' ? '01' : '00';
    return bytesOf(`\x02${data}${tail}${crlf ? '\r\n' : ''}\x03`);
  });
const cardLine = fc
  .stringMatching(/^[0-9A-Za-z]{1,40}$/)
  .chain((card) =>
    fc.constantFrom(`${card}\r\n`, `${card}\n`, `${card}\r`, `${card}\r\n1234#`, `${card}\n98765#`),
  )
  .map(bytesOf);
const stream = fc
  .array(
    fc.oneof(
      byte.map((b) => [b]),
      frameLike,
      cardLine,
    ),
    { maxLength: 40 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

/** Cuts a stream at arbitrary points. */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}
const cuts = fc.array(fc.nat(), { maxLength: 30 });

function run(profile: ReaderProfile, pattern: string, chunks: Uint8Array[]): FrameResult[] {
  const parser = createParser(profile, { card_pattern: pattern, pin_timeout_ms: 10_000 });
  return chunks.flatMap((c) => parser.push(c, 0));
}
const swipes = (results: FrameResult[]) => results.filter((r) => r.kind === 'swipe');

const profiles: ReaderProfile[] = ['line', 'stx-etx', 'keypad'];
const patterns = fc.constantFrom('^[0-9A-Za-z]{4,32}$', '[0-9]{4,10}', '[0-9A-F]{10}', '[A-Z][0-9a-z]+');

describe('frame parsers under arbitrary input', () => {
  for (const profile of profiles) {
    it(`${profile}: any chunking gives the same results, and every card matches card_pattern`, () => {
      fc.assert(
        fc.property(stream, cuts, patterns, (bytes, cutAt, pattern) => {
          const whole = run(profile, pattern, [bytes]);
          expect(run(profile, pattern, chunk(bytes, cutAt))).toEqual(whole);
          const full = compileCardPattern(pattern);
          for (const r of swipes(whole)) {
            if (r.kind === 'swipe') expect(full.test(r.card)).toBe(true);
          }
          for (const r of whole) {
            if (r.kind === 'rejected') expect(r.why).toMatch(/^[a-z_]+$/);
          }
        }),
        RUNS,
      );
    });
  }

  it('stx-etx: swipes are exactly the complete valid frames in the stream', () => {
    // Independent oracle: STX, 10 hex, optional 2 hex checksum, optional CR LF, ETX.
    const framePattern = /\x02([0-9A-Fa-f]{10})([0-9A-Fa-f]{2})?(?:\r\n)?\x03/g;
    fc.assert(
      fc.property(stream, cuts, (bytes, cutAt) => {
        const text = Buffer.from(bytes).toString('latin1');
        const expected = [...text.matchAll(framePattern)]
          .filter((m) => m[2] === undefined || m[2].toUpperCase() === checksum(m[1]!))
          .map((m) => ({ kind: 'swipe', card: m[1]!.toUpperCase() }));
        expect(swipes(run('stx-etx', '.*', chunk(bytes, cutAt)))).toEqual(expected);
      }),
      RUNS,
    );
  });
});

/** Garbage that cannot itself form a card under the default pattern (no letters or digits). */
const noise = fc.array(
  fc.integer({ min: 0, max: 255 }).filter((b) => !/[0-9A-Za-z]/.test(String.fromCharCode(b))),
  { maxLength: 80 },
);
const anyBytes = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 80 });
const card = fc.stringMatching(/^[0-9A-Za-z]{4,32}$/);
const pin = fc.stringMatching(/^[0-9]{4,8}$/);
const DEFAULT = '^[0-9A-Za-z]{4,32}$';

describe('a valid frame survives garbage around it', () => {
  it('line: noise + terminator + card + terminator + noise yields exactly that card', () => {
    fc.assert(
      fc.property(noise, card, noise, cuts, (before, c, after, cutAt) => {
        const bytes = Uint8Array.from([...before, 0x0a, ...bytesOf(`${c}\r\n`), ...after]);
        expect(swipes(run('line', DEFAULT, chunk(bytes, cutAt)))).toEqual([{ kind: 'swipe', card: c }]);
      }),
      RUNS,
    );
  });

  it('line: with arbitrary garbage, the card is found between what the garbage itself yields', () => {
    fc.assert(
      fc.property(anyBytes, card, anyBytes, cuts, (before, c, after, cutAt) => {
        const bytes = Uint8Array.from([...before, 0x0d, ...bytesOf(`${c}\n`), ...after]);
        const expected = [
          ...swipes(run('line', DEFAULT, [Uint8Array.from([...before, 0x0d])])),
          { kind: 'swipe', card: c },
          ...swipes(run('line', DEFAULT, [Uint8Array.from(after)])),
        ];
        expect(swipes(run('line', DEFAULT, chunk(bytes, cutAt)))).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('stx-etx: garbage without STX + frame + garbage yields exactly that card', () => {
    const stray = fc.array(
      fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x02),
      { maxLength: 80 },
    );
    fc.assert(
      fc.property(
        stray,
        hexData,
        fc.boolean(),
        fc.boolean(),
        stray,
        cuts,
        (before, data, sum, crlf, after, cutAt) => {
          const frame = bytesOf(`\x02${data}${sum ? checksum(data) : ''}${crlf ? '\r\n' : ''}\x03`);
          const bytes = Uint8Array.from([...before, ...frame, ...after]);
          expect(swipes(run('stx-etx', DEFAULT, chunk(bytes, cutAt)))).toEqual([
            { kind: 'swipe', card: data.toUpperCase() },
          ]);
        },
      ),
      RUNS,
    );
  });

  it('keypad: noise + terminator + card + PIN + noise yields exactly that card and PIN', () => {
    fc.assert(
      fc.property(noise, card, pin, noise, cuts, (before, c, p, after, cutAt) => {
        const bytes = Uint8Array.from([...before, 0x0d, 0x0a, ...bytesOf(`${c}\r\n${p}#`), ...after]);
        expect(swipes(run('keypad', DEFAULT, chunk(bytes, cutAt)))).toEqual([
          { kind: 'swipe', card: c, pin: p },
        ]);
      }),
      RUNS,
    );
  });
});
