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

export function writeSegment(root: string, rel: string, content: string | Buffer = `video ${rel}`): void {
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

// ---------------------------------------------------------------- MP4 boxes (ISO/IEC 14496-12)

/** A box: 32-bit size, type, payload (§4.2). `large`: size 1 and a 64-bit largesize. */
export function mp4Box(type: string, payload: Buffer, large = false): Buffer {
  if (large) {
    const head = Buffer.alloc(16);
    head.writeUInt32BE(1, 0);
    head.write(type, 4, 'latin1');
    head.writeBigUInt64BE(BigInt(16 + payload.length), 8);
    return Buffer.concat([head, payload]);
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

/** The mvhd payload (§8.2.2): version 0 (32-bit times) or 1 (64-bit), with the fixed fields that follow. */
export function mvhdPayload(version: 0 | 1, timescale: number, duration: bigint): Buffer {
  const times = version === 1 ? Buffer.alloc(28) : Buffer.alloc(16);
  if (version === 1) {
    times.writeBigUInt64BE(3_000_000_000n, 0); // creation_time
    times.writeBigUInt64BE(3_000_000_001n, 8); // modification_time
    times.writeUInt32BE(timescale, 16);
    times.writeBigUInt64BE(duration, 20);
  } else {
    times.writeUInt32BE(3_000_000_000, 0);
    times.writeUInt32BE(3_000_000_001, 4);
    times.writeUInt32BE(timescale, 8);
    times.writeUInt32BE(Number(duration), 12);
  }
  // rate 1.0, volume 1.0, reserved (2 + 8), unity matrix (9 × 4), pre_defined (6 × 4), next_track_ID
  const rest = Buffer.alloc(80);
  rest.writeUInt32BE(0x0001_0000, 0);
  rest.writeUInt16BE(0x0100, 4);
  [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000].forEach((v, i) => {
    rest.writeUInt32BE(v, 16 + i * 4);
  });
  rest.writeUInt32BE(2, 76);
  return Buffer.concat([Buffer.from([version, 0, 0, 0]), times, rest]);
}

export interface Mp4Spec {
  durationMs: number;
  version?: 0 | 1;
  timescale?: number;
  /** moov before mdat (faststart) or after it (ffmpeg's segment muxer). */
  moovFirst?: boolean;
  /** mdat with a 64-bit largesize. */
  largeMdat?: boolean;
}

/** The mvhd duration in `timescale` units for a wanted length, and the ms the spec's arithmetic gives back. */
export function mvhdUnits(durationMs: number, timescale: number): { units: bigint; ms: number } {
  const units = BigInt(Math.max(1, Math.round((durationMs * timescale) / 1000)));
  const ts = BigInt(timescale);
  return { units, ms: Number((units * 1000n + ts - 1n) / ts) };
}

/** A minimal MP4: ftyp, mdat and moov (with mvhd and a trak-like filler box before it). */
export function mp4File(spec: Mp4Spec): Buffer {
  const timescale = spec.timescale ?? 1000;
  const ftyp = mp4Box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2avc1mp41', 'latin1'));
  const mdat = mp4Box('mdat', Buffer.alloc(64, 0xab), spec.largeMdat);
  const { units } = mvhdUnits(spec.durationMs, timescale);
  const moov = mp4Box(
    'moov',
    Buffer.concat([
      mp4Box('mvhd', mvhdPayload(spec.version ?? 0, timescale, units)),
      mp4Box('trak', Buffer.alloc(24)),
    ]),
  );
  return Buffer.concat(spec.moovFirst ? [ftyp, moov, mdat] : [ftyp, mdat, moov]);
}
