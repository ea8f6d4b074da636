import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { scheduleFromConfig } from '../../src/schedule/planner.ts';
import { ANNOUNCER_SCOPE, Announcer, messageFor, SHIPPED_ANNOUNCEMENTS } from '../../src/states/announcer.ts';
import { type AnnouncementsConfig, statesDefaults } from '../../src/states/config.ts';
import { startStates } from '../../src/states/start.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { BRANCH, local, SITE } from './branch.ts';

const schedule = scheduleFromConfig(BRANCH, SITE);
const MINUTE = 60_000;

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * The shipped texts with stand-in recordings, and a player replaced by a recorder script that notes each
 * file it is asked to play (tests only: the service runs `aplay` or `pw-play`).
 */
function stage(playerBody = 'echo "$@" >> "$(dirname "$0")/played.log"') {
  const dir = tempDir('announce-');
  cleanups.push(() => dir.cleanup());
  const sounds = join(dir.path, 'sounds');
  for (const lang of ['nb', 'da', 'en']) {
    mkdirSync(join(sounds, lang), { recursive: true });
    for (const name of readdirSync(join(SHIPPED_ANNOUNCEMENTS, lang))) {
      copyFileSync(join(SHIPPED_ANNOUNCEMENTS, lang, name), join(sounds, lang, name));
      if (/^closing-\d+\.txt$/.test(name))
        writeFileSync(join(sounds, lang, name.replace('.txt', '.wav')), 'RIFF stand-in');
    }
  }
  const player = join(dir.path, 'recorder.sh');
  writeFileSync(player, `#!/bin/sh\n${playerBody}\n`);
  chmodSync(player, 0o755);
  const played = () => {
    try {
      return readFileSync(join(dir.path, 'played.log'), 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  return { sounds, player, played, dir: dir.path };
}

async function run(startIso: string, announcements: Partial<AnnouncementsConfig>) {
  const bus = new EventBus();
  const events: DorvaktEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const log = createLogger('silent');
  const alarms = new Alarms(null, bus, log);
  const mqtt = await connectAsync(broker.url, { protocolVersion: 5 });
  cleanups.push(() => mqtt.endAsync());
  const clock = { now: new Date(startIso) };
  const engine = await startStates({
    config: statesDefaults({
      announcements: {
        enabled: true,
        minutes: [15, 10, 5],
        languages: [],
        play: true,
        player: ['aplay', '-q'],
        player_timeout_seconds: 60,
        ...announcements,
      },
    }),
    language: 'nb',
    schedule,
    bus,
    alarms,
    mqtt,
    log,
    now: () => clock.now,
    tickMs: 3_600_000,
  });
  cleanups.push(() => engine.stop());
  const walk = (to: string) => {
    for (let at = clock.now.getTime() + MINUTE; at <= Date.parse(to); at += MINUTE) {
      clock.now = new Date(at);
      engine.evaluate();
    }
  };
  return { events, alarms, walk, engine };
}

describe('closing announcements', () => {
  it('ships a text for 15, 10 and 5 minutes in nb, da and en, and fills the template for other offsets', () => {
    for (const lang of ['nb', 'da', 'en'] as const) {
      for (const minutes of [15, 10, 5]) {
        const message = messageFor(SHIPPED_ANNOUNCEMENTS, lang, minutes);
        expect(message?.text, `${lang} ${minutes}`).toMatch(new RegExp(`\\b${minutes}\\b`));
      }
    }
    expect(messageFor(SHIPPED_ANNOUNCEMENTS, 'nb', 30)?.text).toBe('Biblioteket stenger om 30 minutter.');
    expect(messageFor(SHIPPED_ANNOUNCEMENTS, 'da', 30)?.text).toBe('Biblioteket lukker om 30 minutter.');
  });

  it('plays each language at 15, 10 and 5 minutes before closing, and publishes the texts for a speaker', async () => {
    const s = stage();
    const speaker = await connectAsync(broker.url, { protocolVersion: 5 });
    cleanups.push(() => speaker.endAsync());
    const said: { minutes: number; language: string; text: string; at: string }[] = [];
    speaker.on('message', (_t, payload) => said.push(JSON.parse(payload.toString())));
    const topic = `speaker-${process.pid}/say`;
    await speaker.subscribeAsync(topic);
    const r = await run('2026-11-25T21:30:00+01:00', {
      dir: s.sounds,
      player: [s.player],
      languages: ['nb', 'en'],
      mqtt_topic: topic,
    });
    r.walk('2026-11-25T22:05:00+01:00');
    const announced = r.events.flatMap((e) =>
      e.type === 'announcement' ? [`${local(Date.parse(e.ts))} ${e.minutes} ${e.languages.join('+')}`] : [],
    );
    expect(announced).toEqual(['21:45 15 nb+en', '21:50 10 nb+en', '21:55 5 nb+en']);
    await waitFor(() => s.played().length === 6, 5000, 'six plays');
    expect(s.played().map((line) => line.slice(s.sounds.length + 1))).toEqual([
      'nb/closing-15.wav',
      'en/closing-15.wav',
      'nb/closing-10.wav',
      'en/closing-10.wav',
      'nb/closing-5.wav',
      'en/closing-5.wav',
    ]);
    await waitFor(() => said.length === 6, 5000, 'six texts');
    expect(said[0]).toEqual({
      minutes: 15,
      at: '2026-11-25T21:00:00.000Z',
      language: 'nb',
      text: 'Biblioteket stenger om 15 minutter. Vennligst avslutt besøket.',
    });
    expect(r.alarms.isActive('output_failed', ANNOUNCER_SCOPE)).toBe(false);
  });

  it('says nothing on a holiday, and nothing it finds late after a restart', async () => {
    const s = stage();
    const holiday = await run('2026-12-25T12:00:00+01:00', { dir: s.sounds, player: [s.player] });
    holiday.walk('2026-12-25T23:00:00+01:00');
    // Started at 21:52, after the 15- and 10-minute ones were due: only the 5-minute one is said.
    const late = await run('2026-11-25T21:52:00+01:00', { dir: s.sounds, player: [s.player] });
    late.walk('2026-11-25T22:00:00+01:00');
    expect(holiday.events.filter((e) => e.type === 'announcement')).toEqual([]);
    await waitFor(() => s.played().length === 1, 5000, 'one play');
    expect(s.played()[0]).toMatch(/nb\/closing-5\.wav$/);
  });

  it('a missing player raises output_failed (announcements) and the outputs run on', async () => {
    const s = stage();
    const r = await run('2026-11-25T21:40:00+01:00', {
      dir: s.sounds,
      player: [join(s.dir, 'no-such-player')],
    });
    r.walk('2026-11-25T21:46:00+01:00');
    await waitFor(() => r.alarms.isActive('output_failed', ANNOUNCER_SCOPE), 5000, 'alarm');
    expect(r.alarms.list()[0]?.detail).toMatch(/no-such-player not found/);
    r.walk('2026-11-25T22:01:00+01:00');
    expect(r.engine.status().state).toBe('closed');
  });

  it('stopping while a missing player is failing to start never signals our own process group', async () => {
    const s = stage();
    const log = createLogger('silent');
    const announcer = new Announcer({
      config: {
        ...statesDefaults().announcements,
        enabled: true,
        dir: s.sounds,
        player: [join(s.dir, 'none')],
      },
      languages: ['nb', 'da', 'en'],
      alarms: new Alarms(null, new EventBus(), log),
      log,
    });
    announcer.announce(15, new Date());
    // The spawn's error is still on its way: a kill now would go to pid 0 (this test run included).
    announcer.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(process.pid).toBeGreaterThan(0);
  });

  it('a player that hangs is killed after its timeout and raises the alarm', async () => {
    const s = stage('exec sleep 30');
    const r = await run('2026-11-25T21:44:00+01:00', {
      dir: s.sounds,
      player: [s.player],
      player_timeout_seconds: 1,
    });
    const started = Date.now();
    r.walk('2026-11-25T21:45:00+01:00');
    expect(Date.now() - started).toBeLessThan(200);
    await waitFor(() => r.alarms.isActive('output_failed', ANNOUNCER_SCOPE), 5000, 'alarm');
    expect(r.alarms.list()[0]?.detail).toMatch(/longer than 1 s; killed/);
  });
});
