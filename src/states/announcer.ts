/**
 * Closing announcements: the text and recording of each language, played on the box by a system player
 * (a supervised child with a timeout, one at a time) and/or published for a networked speaker. Nothing here
 * waits for the player; a player that is missing, fails or hangs raises `output_failed` (announcements).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import type { Logger } from '../log/logger.ts';
import type { AnnouncementsConfig, Language } from './config.ts';

/** The messages shipped with Dørvakt (texts; WAVs made by bin/make-announcements.mjs). */
export const SHIPPED_ANNOUNCEMENTS = fileURLToPath(new URL('../../announcements/', import.meta.url));

/** The alarm scope of announcement failures. */
export const ANNOUNCER_SCOPE = 'announcements';

/** Plays waiting beyond this are dropped: a stuck player must not pile up children. */
const MAX_QUEUED = 12;

export interface SpokenMessage {
  language: Language;
  text: string;
  /** The recording, when there is one. */
  file: string | null;
}

/** The text of one announcement: `closing-<m>.txt`, else `closing.txt` with `{minutes}` filled in. */
export function messageFor(dir: string, language: Language, minutes: number): SpokenMessage | null {
  const folder = join(dir, language);
  const read = (name: string): string | null => {
    try {
      return readFileSync(join(folder, name), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const text =
    read(`closing-${minutes}.txt`) ?? read('closing.txt')?.replaceAll('{minutes}', String(minutes)) ?? null;
  if (text === null) return null;
  const wav = join(folder, `closing-${minutes}.wav`);
  return { language, text, file: existsSync(wav) ? wav : null };
}

export interface AnnouncerDeps {
  config: AnnouncementsConfig;
  languages: Language[];
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
  mqtt?: MqttClient | undefined;
}

export interface Announced {
  minutes: number;
  closesAt: string;
  messages: SpokenMessage[];
}

export class Announcer {
  private readonly dir: string;
  private readonly queue: string[] = [];
  private playing: ChildProcess | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Plays finished well / failed since start (tests, the demo). */
  played = 0;
  failed = 0;

  constructor(private readonly deps: AnnouncerDeps) {
    this.dir = deps.config.dir ?? SHIPPED_ANNOUNCEMENTS;
  }

  get languages(): Language[] {
    return this.deps.languages;
  }

  /** Starts the announcement `minutes` before `closesAt`; returns at once with what is said. */
  announce(minutes: number, closesAt: Date): Announced {
    const { config, log, mqtt } = this.deps;
    const messages: SpokenMessage[] = [];
    for (const language of this.deps.languages) {
      const message = messageFor(this.dir, language, minutes);
      if (!message) {
        this.fail(`no text for ${language} at ${minutes} min in ${this.dir}`);
        continue;
      }
      messages.push(message);
    }
    const closes = closesAt.toISOString();
    log.info(
      { minutes, closesAt: closes, languages: messages.map((m) => m.language) },
      'closing announcement',
    );
    if (config.mqtt_topic && mqtt) {
      for (const m of messages) {
        const payload = JSON.stringify({ minutes, at: closes, language: m.language, text: m.text });
        // Never retained: a speaker that reconnects must not repeat an old announcement.
        mqtt.publish(config.mqtt_topic, payload, { qos: 1 }, (error) => {
          if (error) this.fail(`publish on ${config.mqtt_topic}: ${error.message}`);
          // Without playing, the speaker topic is the announcement: it working again clears the alarm.
          else if (!config.play) this.deps.alarms.clear('output_failed', ANNOUNCER_SCOPE);
        });
      }
    }
    if (config.play) {
      for (const m of messages) {
        if (m.file) this.enqueue(m.file);
        else
          this.fail(
            `no recording ${m.language}/closing-${minutes}.wav (bin/make-announcements.mjs makes them)`,
          );
      }
    }
    return { minutes, closesAt: closes, messages };
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    clearTimeout(this.timer);
    if (this.playing) killPlayer(this.playing);
  }

  private enqueue(file: string): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.fail('the player is behind; an announcement was dropped');
      return;
    }
    this.queue.push(file);
    if (!this.playing) this.playNext();
  }

  private playNext(): void {
    const file = this.queue.shift();
    if (file === undefined || this.stopped) return;
    const [command, ...args] = this.deps.config.player;
    let done = false;
    const finish = (problem: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(this.timer);
      this.playing = null;
      if (problem) this.fail(problem);
      else {
        this.played++;
        this.deps.alarms.clear('output_failed', ANNOUNCER_SCOPE);
      }
      this.playNext();
    };
    let child: ChildProcess;
    try {
      child = spawn(command!, [...args, file], { stdio: 'ignore' });
    } catch (error) {
      finish(`player ${command}: ${(error as Error).message}`);
      return;
    }
    this.playing = child;
    child.once('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ENOENT' ? `player ${command} not found` : `player ${command}: ${error.message}`),
    );
    child.once('exit', (code, signal) =>
      finish(code === 0 ? null : `player ${command} ended with ${signal ?? `exit code ${code}`}`),
    );
    this.timer = setTimeout(() => {
      killPlayer(child);
      finish(`player ${command} took longer than ${this.deps.config.player_timeout_seconds} s; killed`);
    }, this.deps.config.player_timeout_seconds * 1000);
    this.timer.unref();
  }

  private fail(problem: string): void {
    this.failed++;
    this.deps.log.error({ part: ANNOUNCER_SCOPE, err: problem }, 'announcement failed; the door runs on');
    this.deps.alarms.raise('output_failed', ANNOUNCER_SCOPE, problem.slice(0, 300));
  }
}

/**
 * Only a child that started: one whose spawn failed has no pid until its error arrives, and libuv would
 * send the signal to pid 0, our whole process group.
 */
function killPlayer(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
