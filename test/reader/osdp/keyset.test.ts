/** `dorvakt osdp keyset`: a new reader moves from SCBK-D to its own key, kept as a secret file. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runOsdpCommand } from '../../../src/cli/osdp.ts';
import { readSecret } from '../../../src/config/load.ts';
import type { DorvaktConfig } from '../../../src/config/types.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { parseKey } from '../../../src/reader/osdp/key.ts';
import { waitFor } from '../../helpers/ports.ts';
import { type Bench, osdpBench, osdpReaderConfig, recorder } from './fixture.ts';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

function siteWith(reader: ReturnType<typeof osdpReaderConfig>): DorvaktConfig {
  return { site: { language: 'en' }, doors: [{ id: 'front', reader }] } as unknown as DorvaktConfig;
}

describe('dorvakt osdp keyset', () => {
  it('sets a random per-reader key over the default-key channel; after it SCBK-D no longer opens the reader', async () => {
    bench = await osdpBench([{ address: 3, install: true }]);
    const out = join(bench.dir, 'front.key');
    const lines: string[] = [];
    const config = siteWith(osdpReaderConfig(bench.pty.devicePath, { security: 'install', address: 3 }));
    const code = await runOsdpCommand(['keyset', '--door', 'front', '--out', out], {
      config,
      configFile: join(bench.dir, 'dorvakt.yaml'),
      log: createLogger('silent'),
      readSecret: (ref) => readSecret(ref),
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
    });
    expect(code, lines.join('\n')).toBe(0);
    const key = parseKey(readFileSync(out, 'utf8'));
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(existsSync(`${out}.new`)).toBe(false);
    const pd = bench.sim.device(3);
    expect(pd.key?.equals(key)).toBe(true);
    expect(pd.install).toBe(false);
    expect(key.equals(Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex'))).toBe(false);

    // The service with the new key: secure, cards arrive.
    const reader = bench.reader({ security: 'key', scbk: { file: out }, address: 3 });
    const seen = recorder(reader);
    reader.start();
    await waitFor(() => reader.pd.secure, 5000, 'secure with the new key');
    pd.present('0102030405');
    await waitFor(() => seen.swipes.length === 1, 5000, 'card');
    await reader.stop();

    // Install mode again: the reader now refuses the default key, nothing is delivered.
    const stale = bench.reader({ security: 'install', address: 3 }, 'stale');
    const staleSeen = recorder(stale);
    stale.start();
    pd.present('0102030405');
    await waitFor(() => staleSeen.alarms.some(([c, a]) => c === 'reader_insecure' && a), 5000, 'insecure');
    expect(staleSeen.swipes).toEqual([]);
  });

  it('a reader that refuses the new key keeps its old one, and no key file is left behind', async () => {
    bench = await osdpBench([{ address: 0, install: true }]);
    bench.sim.device(0).refuseKeyset = true;
    const out = join(bench.dir, 'front.key');
    const lines: string[] = [];
    const code = await runOsdpCommand(['keyset', '--door', 'front', '--out', out], {
      config: siteWith(osdpReaderConfig(bench.pty.devicePath, { security: 'install' })),
      configFile: join(bench.dir, 'dorvakt.yaml'),
      log: createLogger('silent'),
      readSecret: (ref) => readSecret(ref),
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
    });
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/refused the new key/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.new`)).toBe(false);
    expect(bench.sim.device(0).install).toBe(true);
  });

  it('a reader that is not in install mode keeps its key and no key file is left', async () => {
    bench = await osdpBench([{ address: 0, key: Buffer.alloc(16, 7) }]);
    const out = join(bench.dir, 'front.key');
    const lines: string[] = [];
    const code = await runOsdpCommand(['keyset', '--door', 'front', '--out', out], {
      config: siteWith(osdpReaderConfig(bench.pty.devicePath, { security: 'install' })),
      configFile: join(bench.dir, 'dorvakt.yaml'),
      log: createLogger('silent'),
      readSecret: (ref) => readSecret(ref),
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
      timeoutMs: 1500,
    });
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/install mode/);
    expect(existsSync(out)).toBe(false);
    expect(bench.sim.device(0).key?.equals(Buffer.alloc(16, 7))).toBe(true);
  });
});
