/**
 * `dorvakt osdp keyset --config FILE --door ID [--out FILE]`: gives a reader its own secure channel key.
 * Run with the service stopped (it owns the serial port). The reader is reached with its current key
 * (security key) or the default key SCBK-D (a new reader in install mode); the new key is written next
 * to the config as a secret file, mode 600, and only kept once the reader has acknowledged it.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DorvaktConfig, SecretRef } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { formatKey } from '../reader/osdp/key.ts';
import { keysetCommand } from '../reader/osdp/messages.ts';
import { CMD, REPLY } from '../reader/osdp/protocol.ts';
import { OsdpCardReader } from '../reader/osdp/reader.ts';

export interface KeysetDeps {
  config: DorvaktConfig;
  configFile: string;
  log: Logger;
  readSecret: (ref: SecretRef) => string;
  out: (line: string) => void;
  err: (line: string) => void;
  random?: (n: number) => Buffer;
  timeoutMs?: number;
}

const USAGE = 'usage: dorvakt osdp keyset --config FILE --door ID [--out KEY_FILE]';

export async function runOsdpCommand(args: string[], deps: KeysetDeps): Promise<number> {
  if (args[0] !== 'keyset') {
    deps.err(USAGE);
    return 2;
  }
  const doorId = optionValue(args, '--door');
  const door = deps.config.doors.find((d) => d.id === doorId);
  if (!door) {
    deps.err(doorId ? `no door "${doorId}" in the config` : USAGE);
    return 2;
  }
  const osdp = door.reader.osdp;
  if (door.reader.profile !== 'osdp' || !osdp) {
    deps.err(`door "${door.id}" has no OSDP reader (reader.profile: osdp)`);
    return 2;
  }
  const current = osdp.security === 'key' && osdp.scbk ? osdp.scbk : undefined;
  const outArg = optionValue(args, '--out');
  const outFile = outArg
    ? resolve(outArg)
    : current && 'file' in current
      ? current.file
      : resolve(dirname(deps.configFile), `osdp-${door.id}.key`);
  // Reached with its current key, or with SCBK-D when it has none yet.
  const reader = new OsdpCardReader(
    { ...door.reader, osdp: { ...osdp, security: current ? 'key' : 'install' } },
    deps.log,
    door.id,
    { language: deps.config.site.language, readSecret: deps.readSecret },
  );
  const key = (deps.random ?? randomBytes)(16);
  const pending = `${outFile}.new`;
  reader.start();
  try {
    const secure = await until(() => reader.pd.secure, deps.timeoutMs ?? 15_000);
    if (!secure) {
      deps.err(
        current
          ? 'the reader did not open a secure channel with its configured key'
          : 'the reader did not open a secure channel with the default key: put it in install mode (see its manual)',
      );
      return 1;
    }
    // Written before it is sent: a crash after the reader took the key must not lose it.
    writeFileSync(pending, formatKey(key), { mode: 0o600 });
    const reply = await new Promise<{ code: number } | undefined>((done) => {
      reader.pd.send(CMD.KEYSET, keysetCommand(key), done);
      reader.bus?.kick();
    });
    if (reply?.code !== REPLY.ACK) {
      rmSync(pending, { force: true });
      deps.err('the reader refused the new key (it stays on its old one)');
      return 1;
    }
    renameSync(pending, outFile);
    deps.out(`the reader of door ${door.id} now uses its own key, kept in ${outFile}`);
    deps.out(
      `set in the config: doors[${door.id}].reader.osdp: { security: key, scbk: { file: ${outFile} } }`,
    );
    return 0;
  } finally {
    await reader.stop();
  }
}

function optionValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function until(probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
