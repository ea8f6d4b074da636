import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigFile, checkConfigText } from '../../src/config/check.ts';
import { ConfigError, parseConfig, readSecret } from '../../src/config/load.ts';
import { installedExample } from '../helpers/example-config.ts';
import { tempDir } from '../helpers/tmp.ts';

const minimal = `site:
  id: demo
secrets:
  card_hmac_key: { env: KEY }
doors:
  - id: main
    schedule:
      staffless: "Mo-Su 07:00-22:00"
    reader:
      path: /dev/ttyUSB0
`;

/** The full check of `dorvakt check-config` (schedules included). */
function problems(text: string) {
  try {
    checkConfigText(text, 'test.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('fills documented defaults', () => {
    const config = parseConfig(minimal);
    expect(config.site.timezone).toBe('Europe/Oslo');
    expect(config.doors[0]!.reader.profile).toBe('line');
    expect(config.doors[0]!.hardware.driver).toBe('sim');
    expect(config.doors[0]!.hardware.pulse_ms).toBe(3000);
    expect(config.entries.identified_days).toBe(30);
    expect(config.patrons.offline_policy).toBe('deny');
    expect(config.store.entry_sync).toBe('after_relay');
  });

  it('the example config is valid', () => {
    const dir = tempDir();
    const config = checkConfigFile(installedExample(dir.path));
    expect(config.doors[0]!.id).toBe('main');
    dir.cleanup();
  });

  it('names the key and line of every error', () => {
    const text = minimal.replace(
      'path: /dev/ttyUSB0',
      'path: /dev/ttyUSB0\n      profile: magstripe\n      baud: 9600',
    );
    const found = problems(text);
    expect(found).toContainEqual({
      key: 'doors.0.reader.profile',
      line: 11,
      message: expect.stringContaining('"line"'),
    });
    expect(found).toContainEqual({ key: 'doors.0.reader.baud', line: 12, message: 'unknown key "baud"' });
  });

  it('reports missing required keys at their parent', () => {
    const found = problems(
      minimal.replace('  card_hmac_key: { env: KEY }\n', '  {}\n').replace('secrets:\n  {}', 'secrets: {}'),
    );
    expect(found).toContainEqual({
      key: 'secrets',
      line: 3,
      message: 'missing required key "card_hmac_key"',
    });
  });

  it('reports YAML syntax errors with a line', () => {
    const found = problems('site:\n  id: [unclosed\n');
    expect(found[0]!.line).toBeGreaterThan(0);
    expect(found[0]!.message).toMatch(/^YAML/);
  });

  it('refuses PINs with the local registry, which cannot verify them', () => {
    const found = problems(minimal.replace('  - id: main', '  - id: main\n    require_pin: true'));
    expect(found.map((p) => p.key)).toContain('doors.0.require_pin');
  });

  it('refuses duplicate door ids', () => {
    const twice = minimal + minimal.slice(minimal.indexOf('  - id: main'));
    expect(problems(twice).map((p) => p.message)).toContain('duplicate door id "main"');
  });

  it('reads secrets from files and env, and never puts the value in an error', () => {
    const dir = tempDir();
    const file = join(dir.path, 'key');
    writeFileSync(file, 'super-secret-value-123\n');
    expect(readSecret({ file })).toBe('super-secret-value-123');
    expect(readSecret({ env: 'K' }, { K: 'from-env' })).toBe('from-env');
    expect(() => readSecret({ env: 'MISSING' }, {})).toThrow(/MISSING is not set/);
    writeFileSync(file, '');
    expect(() => readSecret({ file })).toThrow(/is empty/);
    dir.cleanup();
  });
});

describe('config: schedule checks', () => {
  it('reports an invalid opening_hours expression under the door', () => {
    const found = problems(minimal.replace('"Mo-Su 07:00-22:00"', '"Mo-Xy 07:00-22:00"'));
    expect(found).toContainEqual(expect.objectContaining({ key: 'doors.0.schedule.staffless', line: 8 }));
  });

  it('reports an unknown time zone', () => {
    const found = problems(minimal.replace('  id: demo', '  id: demo\n  timezone: Europe/Atlantis'));
    expect(found.map((p) => p.key)).toContain('site.timezone');
  });
});
