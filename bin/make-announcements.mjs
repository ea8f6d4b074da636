#!/usr/bin/env node
// Makes the closing announcements' WAV files from their texts with espeak-ng (docs/states.md): 16 kHz,
// mono, 16-bit PCM, which aplay and pw-play both play as they are.
// usage: bin/make-announcements.mjs [DIR] [--minutes 30,20] [--espeak COMMAND]
//   DIR: a folder with <lang>/closing-<m>.txt (and <lang>/closing.txt with {minutes}); default: the shipped one.
//   --minutes: also make closing-<m>.wav for these offsets from closing.txt, where no closing-<m>.txt exists.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const VOICES = { nb: 'nb', da: 'da', en: 'en-gb' };
const RATE = 16_000;
// espeak-ng's words per minute: a little slower than its default, for a room with echo.
const SPEED = '150';

/** The PCM samples of a 16-bit mono WAV (what espeak-ng writes). */
function readWav(buf) {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error('not a WAV file');
  let at = 12;
  let format = null;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    // espeak-ng writing to a pipe cannot go back to fill in sizes: a data size of 0 or more than is there
    // means "to the end".
    let size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      format = {
        tag: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (format?.tag !== 1 || format.channels !== 1 || format.bits !== 16)
        throw new Error('expected 16-bit mono PCM');
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      const samples = new Float64Array(Math.floor(size / 2));
      for (let i = 0; i < samples.length; i++) samples[i] = buf.readInt16LE(body + 2 * i);
      return { rate: format.rate, samples };
    }
    at = body + size + (size % 2);
  }
  throw new Error('WAV file without data');
}

/**
 * Band-limited resampling (a Hann-windowed sinc low-pass below the new Nyquist frequency), so speech keeps
 * its sibilants without aliasing.
 */
function resample(samples, from, to) {
  if (from === to) return samples;
  const ratio = from / to;
  const cutoff = (0.45 * Math.min(from, to)) / from; // cycles per input sample
  const half = 24; // taps either side
  const out = new Float64Array(Math.floor(samples.length / ratio));
  for (let n = 0; n < out.length; n++) {
    const t = n * ratio;
    const centre = Math.floor(t);
    let sum = 0;
    for (let k = centre - half + 1; k <= centre + half; k++) {
      if (k < 0 || k >= samples.length) continue;
      const x = t - k;
      const sinc = x === 0 ? 1 : Math.sin(2 * Math.PI * cutoff * x) / (2 * Math.PI * cutoff * x);
      const window = 0.5 * (1 + Math.cos((Math.PI * x) / half));
      sum += samples[k] * 2 * cutoff * sinc * window;
    }
    out[n] = sum;
  }
  return out;
}

function wav16(samples, rate) {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++)
    data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]))), 2 * i);
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(36 + data.length, 4);
  head.write('WAVE', 8, 'ascii');
  head.write('fmt ', 12, 'ascii');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20); // PCM
  head.writeUInt16LE(1, 22); // mono
  head.writeUInt32LE(rate, 24);
  head.writeUInt32LE(rate * 2, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36, 'ascii');
  head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}

const args = process.argv.slice(2);
let dir = resolve(dirname(fileURLToPath(import.meta.url)), '../announcements');
let espeak = 'espeak-ng';
const extra = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--minutes') extra.push(...(args[++i] ?? '').split(',').filter(Boolean).map(Number));
  else if (args[i] === '--espeak') espeak = args[++i];
  else dir = resolve(args[i]);
}

if (spawnSync(espeak, ['--version'], { stdio: 'ignore' }).error) {
  console.error(
    `${espeak} is not installed (Debian: apt-get install espeak-ng); the texts in ${dir} are unchanged.`,
  );
  process.exit(1);
}

let made = 0;
for (const lang of readdirSync(dir).sort()) {
  const voice = VOICES[lang];
  if (!voice) continue;
  const folder = join(dir, lang);
  const texts = new Map();
  for (const name of readdirSync(folder)) {
    const m = /^closing-(\d+)\.txt$/.exec(name);
    if (m) texts.set(Number(m[1]), readFileSync(join(folder, name), 'utf8').trim());
  }
  const template = existsSync(join(folder, 'closing.txt'))
    ? readFileSync(join(folder, 'closing.txt'), 'utf8').trim()
    : null;
  for (const minutes of extra) {
    if (!texts.has(minutes) && template)
      texts.set(minutes, template.replaceAll('{minutes}', String(minutes)));
  }
  for (const [minutes, text] of [...texts].sort((a, b) => b[0] - a[0])) {
    const wav = join(folder, `closing-${minutes}.wav`);
    // The text on stdin: it never becomes an option, whatever it starts with.
    const run = spawnSync(espeak, ['-v', voice, '-s', SPEED, '--stdout'], {
      input: text,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.status !== 0 || !run.stdout?.length) {
      console.error(`${espeak} failed for ${wav}: ${run.stderr?.toString().trim() ?? run.error?.message}`);
      process.exit(1);
    }
    let spoken;
    try {
      spoken = readWav(run.stdout);
    } catch (error) {
      console.error(`${espeak} wrote no usable WAV for ${wav}: ${error.message}`);
      process.exit(1);
    }
    writeFileSync(wav, wav16(resample(spoken.samples, spoken.rate, RATE), RATE));
    console.log(`${wav}: ${text}`);
    made++;
  }
}
console.log(`${made} recordings made`);
