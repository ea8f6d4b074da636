import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consents } from '../../src/consent/consents.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { openDb } from '../../src/store/db.ts';
import { waitFor } from '../helpers/ports.ts';
import { withNice } from '../helpers/unit-flags.ts';

export const SITE_KEY = 'fault-suite-site-key-0123456789';

/** The real CLI (`bin/dorvakt.mjs --config FILE`) as a child process, with its JSON log lines parsed. */
export interface ServiceChild {
  proc: ChildProcess;
  logs: { msg: string; [key: string]: unknown }[];
  /** Count of log lines whose msg starts with the prefix. */
  count(prefix: string): number;
  waitForLog(prefix: string, timeoutMs?: number): Promise<void>;
  kill9(): Promise<void>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/** `command` defaults to the source through tsx; the soak bench passes the unit's flags and dist/. */
export function spawnService(
  configPath: string,
  env: NodeJS.ProcessEnv = {},
  command: string[] = ['bin/dorvakt.mjs'],
  options: { nice?: number } = {},
): ServiceChild {
  const argv = withNice(options.nice ?? 0, [process.execPath, ...command, '--config', configPath]);
  const proc = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const logs: ServiceChild['logs'] = [];
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as ServiceChild['logs'][number];
        logs.push(entry);
      } catch {
        // a line cut by kill -9
      }
    }
  });
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const count = (prefix: string) =>
    logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix)).length;
  return {
    proc,
    logs,
    count,
    exited,
    async waitForLog(prefix, timeoutMs = 20_000) {
      await waitFor(
        () => {
          if (proc.exitCode !== null) throw new Error(`service exited (${proc.exitCode}): ${stderr}`);
          return count(prefix) > 0;
        },
        timeoutMs,
        `log "${prefix}"`,
      );
    },
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

export interface FaultConfig {
  dir: string;
  readerPath: string;
  mqttUrl: string;
  relayLog?: string;
  pulseMs?: number;
  extra?: string;
  hardware?: string;
}

/** Writes the key and a one-door config (sim door, pty reader, real broker); returns the config path. */
export function writeFaultConfig(c: FaultConfig): string {
  const key = join(c.dir, 'card-hmac.key');
  writeFileSync(key, SITE_KEY, { mode: 0o600 });
  const hardware =
    c.hardware ??
    `{ driver: sim, pulse_ms: ${c.pulseMs ?? 100}, sim: { patron_on_grant: false${c.relayLog ? `, relay_log: ${c.relayLog}` : ''} } }`;
  const path = join(c.dir, 'dorvakt.yaml');
  writeFileSync(
    path,
    `site: { id: faults, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${key} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${c.readerPath}, profile: line, reconnect_min_ms: 50, reconnect_max_ms: 200 }
    hardware: ${hardware}
store: { path: ${join(c.dir, 'store.sqlite')} }
mqtt: { url: "${c.mqttUrl}" }
ops: { port: 0 }
web: { port: 0 }
log: { level: info }
${c.extra ?? ''}`,
  );
  return path;
}

/** Registers `valid` cards in the local registry with both consents; returns them. */
export function seedPatrons(storePath: string, valid: string[]): void {
  const db = openDb(storePath);
  const hash = cardHasher(SITE_KEY);
  const registry = new LocalPatronSource(db, hash, () => '2026-11-26');
  const consents = new Consents(db);
  for (const card of valid) {
    registry.put(card, { category: 'V', birthYear: 1980 });
    for (const kind of ['agreement', 'camera'] as const)
      consents.sign(hash(card), kind, '1', Date.now(), 'test');
  }
  db.close();
}
