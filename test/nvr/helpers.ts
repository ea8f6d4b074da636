import { mkdirSync, readdirSync, lstatSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { type NvrKey, seal } from '../../src/contract/nvr-auth.ts';
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

/** The key the test agents and controllers share (written to `<dir>/nvr.key` for an agent). */
export const TEST_KEY: NvrKey = { id: 'test-1', secret: 'test-nvr-key-0123456789abcdef-0123456789' };

/** Seals a body as the controller or the agent would (for stand-ins on the broker). */
export const sealed = (topic: string, body: object, key: NvrKey = TEST_KEY, now?: Date) =>
  seal(key, topic, body, now ? { now } : {});

/** The body of a sealed message (tests read what the real parts publish). */
export function bodyOf<T = Record<string, unknown>>(payload: Buffer | string): T {
  return (JSON.parse(payload.toString()) as { body: T }).body;
}

export function writeKey(dir: string, key: NvrKey = TEST_KEY, name = 'nvr.key'): string {
  const file = join(dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${key.secret}\n`, { mode: 0o600 });
  return file;
}

let clientSeq = 0;
export function agentConfig(dir: string, url: string, overrides: Partial<AgentConfig> = {}): AgentConfig {
  const base: AgentConfig = {
    auth: { keys: [{ id: TEST_KEY.id, secret_file: writeKey(dir) }], max_skew_seconds: 300 },
    mqtt: { url, base_topic: 'nvr', client_id: `agent-${process.pid}-${++clientSeq}`, protocol_version: 5 },
    recordings: { root: join(dir, 'recordings'), layout: 'frigate', segment_seconds: 10 },
    exports_dir: join(dir, 'exports'),
    state_file: join(dir, 'state', 'agent.json'),
    purge_cron: '0 0 1 1 *',
    retention_days: 7,
    cameras: [],
    min_keep_hours: 1,
    log_level: 'debug',
  };
  mkdirSync(base.recordings.root, { recursive: true });
  return { ...base, ...overrides };
}

export async function startAgent(config: AgentConfig, log: Logger, now?: () => Date): Promise<NvrAgent> {
  const agent = new NvrAgent({ config, log, mqttOptions: { reconnectPeriod: 100 }, ...(now ? { now } : {}) });
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
    auth: {
      keys: [{ id: TEST_KEY.id, secret: { env: 'UNUSED_IN_TESTS' } }],
      max_skew_seconds: 300,
      forgery_quiet_hours: 24,
    },
    ...overrides,
  });
}

export function makeController(
  dbPath: string,
  mqtt: MqttClient | null,
  log: Logger,
  config: NvrConfig = testNvrConfig(),
  now?: () => Date,
  keys: NvrKey[] = [TEST_KEY],
  onRejected?: (reason: string) => void,
): ControllerRig {
  const db = openDb(dbPath);
  const alarms = new Alarms(db, new EventBus(), log);
  const controller = new NvrController({
    config,
    db,
    mqtt,
    alarms,
    log,
    keys,
    ...(now ? { now } : {}),
    ...(onRejected ? { onRejected } : {}),
  });
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
