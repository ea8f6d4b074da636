/**
 * Wiegand decoding from gpiomon's timestamped edges: recorded and generated output, good frames,
 * bad parity, noise, interleaved bursts and a frame split across reads.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  WiegandDecoder,
  type WiegandResult,
} from '../../../src/reader/wiegand/decoder.ts';
import {
  GPIOMON_FORMAT,
  gpiomonArgs,
  LineSplitter,
  parseGpiomonLine,
} from '../../../src/reader/wiegand/gpiomon.ts';

const D0 = 17;
const D1 = 27;
const options = { d0: D0, d1: D1, gapNs: 25_000_000n, minIntervalNs: 100_000n };

/** gpiomon lines (`--format '%e %o %S'`) for a frame's bits, 2 ms apart from `startNs`. */
function lines(bits: readonly number[], startNs: bigint, stepNs = 2_000_000n): string[] {
  return bits.map((bit, i) => {
    const ns = startNs + BigInt(i) * stepNs;
    return `2 ${bit ? D1 : D0} ${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
  });
}

/** Feeds text as gpiomon would write it (in the given chunks), then the idle end. */
function decode(chunks: string[]): WiegandResult[] {
  const decoder = new WiegandDecoder(options);
  const splitter = new LineSplitter();
  const out: WiegandResult[] = [];
  for (const chunk of chunks)
    for (const line of splitter.push(chunk)) {
      const edge = parseGpiomonLine(line);
      if (edge) out.push(...decoder.edge(edge));
    }
  out.push(...decoder.end());
  return out;
}

const text = (ls: string[]) => `${ls.join('\n')}\n`;

/**
 * H10301 (HID "Standard 26-bit", tech tip 5 / rfideas proximity card formats):
 * P FFFFFFFF BBBBBBBBBBBBBBBB P, even parity over the first 13 bits, odd over the last 13.
 * Facility 111, card 27706 (0x6F, 0x6C3A: the "111,27706" print of the EM card 01026F6C3A in the
 * zgznk 6H10D reader's manual) written out by hand from that layout.
 */
const H10301_111_27706 = `0${'01101111'}${'0110110000111010'}1`;

describe('Wiegand frames', () => {
  it('decodes the H10301 example: facility 111, card 27706', () => {
    const bits = [...H10301_111_27706].map(Number);
    const result = decodeFrame(bits);
    expect(result).toEqual({ kind: 'frame', frame: { bits: 26, data: 0x6f6c3a } });
    expect(encodeFrame(26, 0x6f6c3a)).toEqual(bits);
  });

  it('decodes 34-bit frames: the 32 data bits of EM card 00D507D0 (print 0013961168)', () => {
    const bits = encodeFrame(34, 0x00d507d0);
    expect(bits).toHaveLength(34);
    expect(decodeFrame(bits)).toEqual({ kind: 'frame', frame: { bits: 34, data: 0x00d507d0 } });
  });

  it('drops a frame when either parity bit is wrong', () => {
    for (const length of [26, 34] as const) {
      const good = encodeFrame(length, 0x123456);
      const badFirst = [1 - good[0]!, ...good.slice(1)];
      const badLast = [...good.slice(0, -1), 1 - good.at(-1)!];
      expect(decodeFrame(badFirst)).toEqual({ kind: 'dropped', why: 'parity' });
      expect(decodeFrame(badLast)).toEqual({ kind: 'dropped', why: 'parity' });
      // One data bit flipped in each half breaks that half's parity.
      const flipEarly = [...good];
      flipEarly[3] = 1 - flipEarly[3]!;
      const flipLate = [...good];
      flipLate[length - 3] = 1 - flipLate[length - 3]!;
      expect(decodeFrame(flipEarly)).toEqual({ kind: 'dropped', why: 'parity' });
      expect(decodeFrame(flipLate)).toEqual({ kind: 'dropped', why: 'parity' });
    }
  });

  it('drops short and long frames', () => {
    expect(decodeFrame(encodeFrame(26, 1).slice(0, 25))).toEqual({ kind: 'dropped', why: 'length' });
    expect(decodeFrame([...encodeFrame(26, 1), 0])).toEqual({ kind: 'dropped', why: 'length' });
    expect(decodeFrame(Array(37).fill(0))).toEqual({ kind: 'dropped', why: 'length' });
  });
});

describe('gpiomon output', () => {
  it('asks gpiomon (libgpiod v2) for falling edges with monotonic timestamps in a fixed format', () => {
    expect(gpiomonArgs('/dev/gpiochip0', { d0: D0, d1: D1, bias: 'pull-up' })).toEqual([
      '--banner',
      '--chip',
      '/dev/gpiochip0',
      '--edges',
      'falling',
      '--event-clock',
      'monotonic',
      '--bias',
      'pull-up',
      '--consumer',
      'dorvakt',
      '--format',
      GPIOMON_FORMAT,
      '17',
      '27',
    ]);
  });

  it('reads the --format lines and the default lines, nothing else', () => {
    expect(parseGpiomonLine('2 17 1234.000050000')).toEqual({
      offset: 17,
      falling: true,
      ns: 1_234_000_050_000n,
    });
    expect(parseGpiomonLine('1 27 7.123456789')).toEqual({ offset: 27, falling: false, ns: 7_123_456_789n });
    // The default line: print_event_time, then \tfalling\t, then print_line_id with a chip given.
    expect(parseGpiomonLine('1234.000050000\tfalling\tgpiochip0 17 "GPIO17"')).toEqual({
      offset: 17,
      falling: true,
      ns: 1_234_000_050_000n,
    });
    expect(parseGpiomonLine('5.000000001\trising\tgpiochip0 27')).toMatchObject({
      offset: 27,
      falling: false,
    });
    for (const junk of [
      "Monitoring lines '17' and '27'...",
      '',
      '2 17 12.5',
      'x 17 1.000000000',
      '2 17 1.0000000001',
    ])
      expect(parseGpiomonLine(junk)).toBeUndefined();
  });

  /**
   * gpiomon's output for one card (H10301 facility 111, card 27706) as a Pi writes it with the options
   * above: banner, then one line per falling edge, about 2 ms apart with kernel jitter.
   */
  const RECORDED = `Monitoring lines '17' and '27'...
2 17 5021.118202390
2 17 5021.120205295
2 27 5021.122204899
2 27 5021.124201509
2 17 5021.126203471
2 27 5021.128205388
2 27 5021.130204324
2 27 5021.132205566
2 27 5021.134205199
2 17 5021.136200977
2 27 5021.138205402
2 27 5021.140200548
2 17 5021.142204284
2 27 5021.144202565
2 27 5021.146204953
2 17 5021.148202360
2 17 5021.150202011
2 17 5021.152206315
2 17 5021.154204293
2 27 5021.156204872
2 27 5021.158204943
2 27 5021.160204343
2 17 5021.162203694
2 27 5021.164205676
2 17 5021.166201674
2 27 5021.168202340
`;

  it('decodes a recorded burst', () => {
    expect(decode([RECORDED])).toEqual([{ kind: 'frame', frame: { bits: 26, data: 0x6f6c3a } }]);
  });

  it('decodes a frame split across reads, even in the middle of a line', () => {
    const whole = text(lines(encodeFrame(26, 0x6f6c3a), 5_000_000_000n));
    for (const cut of [1, 7, 13, whole.length - 3]) {
      expect(decode([whole.slice(0, cut), whole.slice(cut)])).toEqual([
        { kind: 'frame', frame: { bits: 26, data: 0x6f6c3a } },
      ]);
    }
  });

  it('two frames in one read are told apart by the gap between their timestamps', () => {
    const a = lines(encodeFrame(26, 0x010203), 1_000_000_000n);
    const b = lines(encodeFrame(34, 0xcafe0001), 1_200_000_000n);
    expect(decode([text([...a, ...b])])).toEqual([
      { kind: 'frame', frame: { bits: 26, data: 0x010203 } },
      { kind: 'frame', frame: { bits: 34, data: 0xcafe0001 } },
    ]);
  });

  it('interleaved bursts on both lines at once are noise, and the next good frame still reads', () => {
    const a = lines(encodeFrame(26, 0x010203), 1_000_000_000n);
    // A second burst 30 µs behind the first: edges on both lines closer than any bit interval.
    const b = lines(encodeFrame(26, 0x0a0b0c), 1_000_030_000n);
    const mixed = [...a, ...b].sort((x, y) => Number(x.split(' ')[2]) - Number(y.split(' ')[2]));
    const after = lines(encodeFrame(26, 0x6f6c3a), 2_000_000_000n);
    expect(decode([text(mixed), text(after)])).toEqual([
      { kind: 'dropped', why: 'noise' },
      { kind: 'frame', frame: { bits: 26, data: 0x6f6c3a } },
    ]);
  });

  it('a glitch (two edges within the minimum bit interval) spoils the frame; a lone blip is noise', () => {
    const frame = lines(encodeFrame(26, 0x6f6c3a), 1_000_000_000n);
    const glitch = '2 17 1.010050000'; // 50 µs after bit 5
    const withGlitch = [...frame.slice(0, 6), glitch, ...frame.slice(6)];
    expect(decode([text(withGlitch)])).toEqual([{ kind: 'dropped', why: 'noise' }]);
    expect(decode([text(['2 27 9.000000000', '2 17 9.002000000'])])).toEqual([
      { kind: 'dropped', why: 'noise' },
    ]);
  });

  it('a bad parity bit, a short and a long frame in a recording are each dropped and counted', () => {
    const good = encodeFrame(26, 0x6f6c3a);
    const badParity = [...good.slice(0, -1), 1 - good.at(-1)!];
    const out = decode([
      text([
        ...lines(badParity, 1_000_000_000n),
        ...lines(good.slice(0, 20), 2_000_000_000n),
        ...lines([...good, 1, 0, 1], 3_000_000_000n),
        ...lines(good, 4_000_000_000n),
      ]),
    ]);
    expect(out).toEqual([
      { kind: 'dropped', why: 'parity' },
      { kind: 'dropped', why: 'length' },
      { kind: 'dropped', why: 'length' },
      { kind: 'frame', frame: { bits: 26, data: 0x6f6c3a } },
    ]);
  });

  it('ignores rising edges and lines that are not D0 or D1', () => {
    const frame = lines(encodeFrame(26, 0x6f6c3a), 1_000_000_000n);
    const noisy = frame.flatMap((l) => [
      l,
      l.replace(/^2 \d+/, '1 17'),
      l.replace(/^2 \d+/, '2 4').replace(/\.(\d{3})/, '.$1'),
    ]);
    // Offset-4 edges sit at the same instants as bits: were they counted, the frame would be noise.
    const decoder = new WiegandDecoder(options);
    const out: WiegandResult[] = [];
    for (const l of noisy) {
      const edge = parseGpiomonLine(l);
      if (edge) out.push(...decoder.edge(edge));
    }
    out.push(...decoder.end());
    expect(out).toEqual([{ kind: 'frame', frame: { bits: 26, data: 0x6f6c3a } }]);
  });

  it('generated: every 26- and 34-bit payload round-trips; any one flipped bit never yields another card', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let n = 0; n < 300; n++) {
      const length = n % 2 === 0 ? 26 : 34;
      const data = length === 26 ? rand() % 2 ** 24 : (rand() * 2 + (rand() % 2)) % 2 ** 32;
      const bits = encodeFrame(length, data);
      expect(decodeFrame(bits)).toEqual({ kind: 'frame', frame: { bits: length, data } });
      const flipped = [...bits];
      const at = rand() % length;
      flipped[at] = 1 - flipped[at]!;
      expect(decodeFrame(flipped)).toEqual({ kind: 'dropped', why: 'parity' });
    }
  });
});
