import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { ANNOUNCER_SCOPE, Announcer, messageFor, SHIPPED_ANNOUNCEMENTS } from '../../src/states/announcer.ts';
import { statesDefaults } from '../../src/states/config.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const LANGUAGES = ['nb', 'da', 'en'] as const;

/** The format and samples of a PCM WAV file, read by the RIFF chunks (not by a fixed 44-byte header). */
function readWav(file: string) {
  const buf = readFileSync(file);
  expect(buf.toString('ascii', 0, 4)).toBe('RIFF');
  expect(buf.toString('ascii', 8, 12)).toBe('WAVE');
  expect(buf.readUInt32LE(4)).toBe(buf.length - 8);
  let at = 12;
  let fmt: { tag: number; channels: number; rate: number; bits: number } | undefined;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ')
      fmt = {
        tag: buf.readUInt16LE(at + 8),
        channels: buf.readUInt16LE(at + 10),
        rate: buf.readUInt32LE(at + 12),
        bits: buf.readUInt16LE(at + 22),
      };
    if (id === 'data') {
      expect(at + 8 + size).toBe(buf.length);
      const samples = new Int16Array(size / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = buf.readInt16LE(at + 8 + 2 * i);
      return { fmt, samples };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

function expectSpeech(file: string) {
  const { fmt, samples } = readWav(file);
  expect(fmt, file).toEqual({ tag: 1, channels: 1, rate: 16_000, bits: 16 });
  const seconds = samples.length / 16_000;
  expect(seconds, file).toBeGreaterThan(1.5);
  expect(seconds, file).toBeLessThan(12);
  // Sound, not silence or a stand-in.
  let sum = 0;
  for (const s of samples) sum += s * s;
  expect(Math.sqrt(sum / samples.length), file).toBeGreaterThan(500);
}

describe('the shipped announcement recordings', () => {
  it('has a 16 kHz mono recording for 15, 10 and 5 minutes in nb, da and en, found by the announcer', () => {
    for (const language of LANGUAGES)
      for (const minutes of [15, 10, 5]) {
        const message = messageFor(SHIPPED_ANNOUNCEMENTS, language, minutes);
        expect(message?.file, `${language} ${minutes}`).toBe(
          join(SHIPPED_ANNOUNCEMENTS, language, `closing-${minutes}.wav`),
        );
        expectSpeech(message!.file!);
        expect(statSync(message!.file!).size).toBeLessThan(300_000);
      }
  });

  it('are played from the shipped folder when a site has no folder of its own', async () => {
    const dir = tempDir('shipped-audio-');
    try {
      // The player replaced by a recorder that notes each file it is asked to play.
      const player = join(dir.path, 'recorder.sh');
      writeFileSync(player, `#!/bin/sh\necho "$@" >> "${join(dir.path, 'played.log')}"\n`);
      chmodSync(player, 0o755);
      const log = createLogger('silent');
      const alarms = new Alarms(null, new EventBus(), log);
      const defaults = statesDefaults().announcements;
      expect(defaults.dir).toBeUndefined();
      const announcer = new Announcer({
        config: { ...defaults, enabled: true, play: true, player: [player] },
        languages: [...LANGUAGES],
        alarms,
        log,
      });
      const said = announcer.announce(10, new Date(Date.now() + 10 * 60_000));
      expect(said.messages.map((m) => m.file)).toEqual(
        LANGUAGES.map((l) => join(SHIPPED_ANNOUNCEMENTS, l, 'closing-10.wav')),
      );
      const played = () => {
        try {
          return readFileSync(join(dir.path, 'played.log'), 'utf8').trim().split('\n');
        } catch {
          return [];
        }
      };
      await waitFor(() => announcer.played === 3, 10_000, 'three plays');
      expect(played()).toEqual(LANGUAGES.map((l) => join(SHIPPED_ANNOUNCEMENTS, l, 'closing-10.wav')));
      expect(announcer.failed).toBe(0);
      expect(alarms.isActive('output_failed', ANNOUNCER_SCOPE)).toBe(false);
      announcer.stop();
    } finally {
      dir.cleanup();
    }
  });
});

const haveEspeak = !spawnSync('espeak-ng', ['--version'], { stdio: 'ignore' }).error;

describe('bin/make-announcements.mjs', () => {
  const dir = tempDir('make-announcements-');
  afterAll(() => dir.cleanup());

  // espeak-ng is a system package: where it is missing the script says so (and the shipped WAVs stand).
  it.skipIf(!haveEspeak)(
    'makes 16 kHz mono recordings of a site’s own texts and of the template for other offsets',
    { timeout: 60_000 },
    () => {
      mkdirSync(join(dir.path, 'nb'));
      writeFileSync(join(dir.path, 'nb', 'closing-15.txt'), '-v Storby bibliotek stenger om et kvarter.\n');
      copyFileSync(join(SHIPPED_ANNOUNCEMENTS, 'nb', 'closing.txt'), join(dir.path, 'nb', 'closing.txt'));
      const run = spawnSync(process.execPath, ['bin/make-announcements.mjs', dir.path, '--minutes', '30'], {
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain('2 recordings made');
      // A text starting with a dash is spoken, not taken as an option of espeak-ng.
      expectSpeech(join(dir.path, 'nb', 'closing-15.wav'));
      expectSpeech(join(dir.path, 'nb', 'closing-30.wav'));
      expect(messageFor(dir.path, 'nb', 30)?.file).toBe(join(dir.path, 'nb', 'closing-30.wav'));
    },
  );
});
