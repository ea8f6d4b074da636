import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installedExample } from '../helpers/example-config.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/dorvakt.mjs', ...args], { encoding: 'utf8' });

describe('dorvakt check-config', () => {
  it('accepts the example config', () => {
    const dir = tempDir();
    const result = run('check-config', installedExample(dir.path));
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(': ok');
    expect(result.status).toBe(0);
    dir.cleanup();
  });

  it('names the file, line and key of every error and exits 1', () => {
    const dir = tempDir();
    const file = join(dir.path, 'bad.yaml');
    writeFileSync(
      file,
      [
        'site:',
        '  id: Bad Id',
        'secrets:',
        '  card_hmac_key: { env: K }',
        'doors:',
        '  - id: main',
        '    schedule: {}',
        '    reader:',
        '      path: /dev/x',
        '      profile: magstripe',
        '',
      ].join('\n'),
    );
    const result = run('check-config', file);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${file}:2: site.id: must match pattern`);
    expect(result.stderr).toContain(
      `${file}:10: doors.0.reader.profile: must be one of "line", "stx-etx", "keypad", "osdp", "wiegand"`,
    );
    dir.cleanup();
  });

  it('prints usage and exits 2 without a command', () => {
    const result = run();
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage:');
  });
});
