/** Wiegand: gpiomon output lines → frames, the whole path the reader runs per edge (split, parse, decode). */
import { encodeFrame, WiegandDecoder } from '../src/reader/wiegand/decoder.ts';
import { LineSplitter, parseGpiomonLine } from '../src/reader/wiegand/gpiomon.ts';
import type { Figures } from './door-loop.ts';

const FRAMES = Number(process.env.WIEGAND_FRAMES ?? 20_000);

function output(frames: number): string {
  const lines: string[] = [];
  let ns = 1_000_000_000n;
  for (let f = 0; f < frames; f++) {
    for (const bit of encodeFrame(f % 2 ? 34 : 26, (f * 2654435761) % 2 ** 24)) {
      lines.push(`2 ${bit ? 21 : 20} ${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`);
      ns += 2_000_000n;
    }
    ns += 300_000_000n;
  }
  return `${lines.join('\n')}\n`;
}

export function benchWiegand(): Figures {
  const text = output(FRAMES);
  // gpiomon writes what one read of the event buffer gave: up to 32 events.
  const chunks: string[] = [];
  for (let at = 0; at < text.length; at += 32 * 22) chunks.push(text.slice(at, at + 32 * 22));
  const decoder = new WiegandDecoder({ d0: 20, d1: 21, gapNs: 25_000_000n, minIntervalNs: 100_000n });
  const splitter = new LineSplitter();
  let frames = 0;
  const t0 = performance.now();
  for (const chunk of chunks)
    for (const line of splitter.push(chunk)) {
      const edge = parseGpiomonLine(line);
      if (edge) frames += decoder.edge(edge).filter((r) => r.kind === 'frame').length;
    }
  frames += decoder.end().filter((r) => r.kind === 'frame').length;
  const ms = performance.now() - t0;
  if (frames !== FRAMES) throw new Error(`decoded ${frames} of ${FRAMES} frames`);
  const edges = text.split('\n').length - 1;
  return {
    frames: FRAMES,
    edges,
    'frames/s': Math.round((FRAMES * 1000) / ms),
    'µs per edge': +((ms * 1000) / edges).toFixed(2),
    'µs per 26-bit card': +(((ms * 1000) / edges) * 26).toFixed(1),
  };
}
