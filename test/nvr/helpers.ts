import { mkdirSync, readdirSync, lstatSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { NvrController } from '../../src/nvr/controller.ts';
import { type NvrConfig, nvrConfigDefaults } from '../../src/nvr/config.ts';
import type { AgentConfig } from '../../src/nvr-agent/config.ts';
import { NvrAgent } from '../../src/nvr-agent/agent.ts';
import { type Db, openDb } from '../../src/store/db.ts';

export const DAY = 86_400_000;
const pad = (n: number) => String(n).padStart(2, '0');

/** Frigate's relative path for a segment starting at ms (UTC). */
export function frigatePath(camera: string, ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/${camera}/${pad(d.getUTCMinutes())}.${pad(d.getUTCSeconds())}.mp4`;
}

export function flatPath(camera: string, ms: number): string {
  return `${camera}/${new Date(ms).toISOString().replace('.000Z', 'Z')}.mp4`;
}

export function writeSegment(root: string, rel: string, content = `video ${rel}`): void {
  const abs = join(root, rel);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}

/** Every entry under root (files, links, dirs) as relative paths, sorted. */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        out.push(`${relative(root, abs)}/`);
        walk(abs);
      } else out.push(relative(root, abs));
    }
  };
  walk(root);
  return out.sort();
}

export const listFiles = (root: string) => listTree(root).filter((p) => !p.endsWith('/'));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function captureLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger('debug', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

let clientSeq = 0;
export function agentConfig(dir: string, url: string, overrides: Partial<AgentConfig> = {}): AgentConfig {
  const base: AgentConfig = {
    mqtt: { url, base_topic: 'nvr', client_id: `agent-${process.pid}-${++clientSeq}`, protocol_version: 5 },
    recorder: { kind: 'files', root: join(dir, 'recordings'), layout: 'frigate' },
    exports_dir: join(dir, 'exports'),
    exports_budget_mb: 1024,
    max_window_hours: 24,
    hold_max_days: 30,
    state_file: join(dir, 'state', 'agent.json'),
    purge_cron: '0 0 1 1 *',
    retention_days: 7,
    cameras: [],
    min_keep_hours: 1,
    log_level: 'debug',
  };
  mkdirSync(filesRoot(base), { recursive: true });
  return { ...base, ...overrides };
}

/** The recordings root of a `files` recorder config. */
export function filesRoot(config: AgentConfig): string {
  if (config.recorder.kind !== 'files') throw new Error('not a files recorder');
  return config.recorder.root;
}

export async function startAgent(config: AgentConfig, log: Logger): Promise<NvrAgent> {
  const agent = new NvrAgent({ config, log, mqttOptions: { reconnectPeriod: 100 } });
  await agent.start();
  await agent.idle();
  return agent;
}

export async function mqttClient(url: string): Promise<MqttClient> {
  const client = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 100, connectTimeout: 2000 });
  client.on('error', () => undefined);
  return client;
}

export interface ControllerRig {
  controller: NvrController;
  db: Db;
  alarms: Alarms;
  config: NvrConfig;
  close(): Promise<void>;
}

export function testNvrConfig(overrides: Partial<NvrConfig> = {}): NvrConfig {
  return nvrConfigDefaults({
    answer_timeout_ms: 300,
    max_tries: 3,
    backoff: { factor: 1.5, max_ms: 1000 },
    purge_cron: '0 0 1 1 *',
    ...overrides,
  });
}

export function makeController(
  dbPath: string,
  mqtt: MqttClient | null,
  log: Logger,
  config: NvrConfig = testNvrConfig(),
  now?: () => Date,
): ControllerRig {
  const db = openDb(dbPath);
  const alarms = new Alarms(db, new EventBus(), log);
  const controller = new NvrController({ config, db, mqtt, alarms, log, ...(now ? { now } : {}) });
  return {
    controller,
    db,
    alarms,
    config,
    async close() {
      await controller.stop();
      db.close();
    },
  };
}
