#!/usr/bin/env node
// Makes the closing announcements' WAV files from their texts with espeak-ng (docs/states.md).
// usage: bin/make-announcements.mjs [DIR] [--minutes 30,20] [--espeak COMMAND]
//   DIR: a folder with <lang>/closing-<m>.txt (and <lang>/closing.txt with {minutes}); default: the shipped one.
//   --minutes: also make closing-<m>.wav for these offsets from closing.txt, where no closing-<m>.txt exists.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const VOICES = { nb: 'nb', da: 'da', en: 'en' };

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
for (const lang of readdirSync(dir)) {
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
  for (const [minutes, text] of texts) {
    const wav = join(folder, `closing-${minutes}.wav`);
    const run = spawnSync(espeak, ['-v', voice, '-s', '150', '-w', wav, text], { stdio: 'inherit' });
    if (run.status !== 0) {
      console.error(`${espeak} failed for ${wav}`);
      process.exit(1);
    }
    console.log(`${wav}: ${text}`);
    made++;
  }
}
console.log(`${made} recordings made`);
