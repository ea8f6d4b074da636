import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { probe } from './tz-probe.ts';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./tz-probe.ts', import.meta.url));

describe('the machine time zone does not matter', () => {
  // CI runs with TZ=UTC; these children run the same probe in zones with their own DST days.
  it('TZ=Europe/Oslo, America/New_York and Australia/Lord_Howe give the same answers as this process', async () => {
    const zones = ['Europe/Oslo', 'America/New_York', 'Australia/Lord_Howe'];
    const outputs = await Promise.all(
      zones.map((tz) =>
        run(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, TZ: tz } }),
      ),
    );
    const ours = probe();
    for (const { stdout } of outputs) expect(JSON.parse(stdout)).toEqual(ours);
  });

  it('the probe covers the skipped hour (02:30 opens at 03:00 CEST)', () => {
    expect(probe()).toContain('2026-03-29T00:40:00.000Z closed staffless@2026-03-29T01:00:00.000Z');
  });
});
