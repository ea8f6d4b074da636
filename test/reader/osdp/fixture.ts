/** A control panel (OsdpCardReader over a real serial port) and simulated readers on a socat pty pair. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { AJV_OPTIONS, readSecret } from '../../../src/config/load.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { type ReaderConfig, readerSchema } from '../../../src/reader/config.ts';
import type { OsdpConfig } from '../../../src/reader/osdp/config.ts';
import { formatKey } from '../../../src/reader/osdp/key.ts';
import { OsdpCardReader } from '../../../src/reader/osdp/reader.ts';
import type { ReaderAlarm, ReaderStatus, RejectedEvent, SwipeEvent } from '../../../src/reader/reader.ts';
import { createPtyPair, type PtyPair } from '../../helpers/pty.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { PdDevice, type PdDeviceOptions, PdSimulator } from './pd-simulator.ts';

const validate = new Ajv(AJV_OPTIONS).compile(readerSchema);

/** A reader config with the schema's defaults filled in, as the service loads it. */
export function osdpReaderConfig(
  path: string,
  osdp: Partial<OsdpConfig>,
  over: Partial<ReaderConfig> = {},
): ReaderConfig {
  const config = {
    path,
    profile: 'osdp',
    baud_rate: 115200,
    reconnect_min_ms: 50,
    reconnect_max_ms: 200,
    ...over,
    osdp,
  };
  if (!validate(config)) throw new Error(JSON.stringify(validate.errors));
  return config as unknown as ReaderConfig;
}

export function recorder(reader: OsdpCardReader) {
  const seen = {
    swipes: [] as SwipeEvent[],
    rejected: [] as RejectedEvent[],
    status: [] as ReaderStatus[],
    alarms: [] as [ReaderAlarm, boolean][],
  };
  reader.on('swipe', (e) => seen.swipes.push(e));
  reader.on('rejected', (e) => seen.rejected.push(e));
  reader.on('status', (s) => seen.status.push(s));
  reader.on('alarm', (code, active) => seen.alarms.push([code, active]));
  return seen;
}

export interface Bench {
  pty: PtyPair;
  sim: PdSimulator;
  dir: string;
  keyFile(name: string, key: Buffer): string;
  reader(osdp: Partial<OsdpConfig>, name?: string, over?: Partial<ReaderConfig>): OsdpCardReader;
  close(): Promise<void>;
}

export async function osdpBench(
  devices: PdDeviceOptions[],
  baudRate = 115200,
  level = 'silent',
): Promise<Bench> {
  const pty = await createPtyPair();
  const dir = tempDir('osdp-');
  const sim = new PdSimulator(
    pty.hostPath,
    devices.map((d) => new PdDevice(d)),
    baudRate,
  );
  await sim.start();
  const readers: OsdpCardReader[] = [];
  const log = createLogger(level);
  return {
    pty,
    sim,
    dir: dir.path,
    keyFile(name, key) {
      const file = join(dir.path, name);
      writeFileSync(file, formatKey(key), { mode: 0o600 });
      return file;
    },
    reader(osdp, name = 'front', over = {}) {
      const reader = new OsdpCardReader(
        osdpReaderConfig(pty.devicePath, osdp, { baud_rate: baudRate, ...over }),
        log,
        name,
        {
          language: 'nb',
          readSecret: (ref) => readSecret(ref),
          handshakeRetryMs: 100,
        },
      );
      readers.push(reader);
      return reader;
    },
    async close() {
      for (const r of readers) await r.stop();
      await sim.stop();
      await pty.close();
      dir.cleanup();
    },
  };
}
