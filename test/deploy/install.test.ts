import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';

/**
 * hardware/install.sh into a fake root (DORVAKT_ROOT): files land under it, system commands are only
 * printed. Run twice to check idempotence: config and key are kept, the udev rule follows the flags.
 */
const root = tempDir('install-root-');
afterAll(() => root.cleanup());

function install(...args: string[]): string {
  return execFileSync('bash', ['hardware/install.sh', ...args], {
    env: { ...process.env, DORVAKT_ROOT: root.path },
    encoding: 'utf8',
  });
}
const mode = (path: string) => (statSync(join(root.path, path)).mode & 0o777).toString(8);
const read = (path: string) => readFileSync(join(root.path, path), 'utf8');

describe('hardware/install.sh', () => {
  it('is valid bash (bash -n) with strict mode on', () => {
    expect(spawnSync('bash', ['-n', 'hardware/install.sh']).status).toBe(0);
    expect(readFileSync('hardware/install.sh', 'utf8')).toMatch(/^set -euo pipefail$/m);
  });

  it('passes shellcheck (and so does the CI script)', () => {
    // A missing shellcheck fails loudly here; .ci/run installs it.
    const result = spawnSync('shellcheck', ['hardware/install.sh', '.ci/run'], { encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('installs user, directories, config, a 0600 HMAC key, the udev rule and the units', () => {
    const out = install('--reader-vendor', '0403', '--reader-product', '6001', '--reader-serial', 'A12B');
    expect(out).toContain('would run: usermod --append --groups gpio,dialout dorvakt');
    expect(out).toMatch(/would run: systemctl enable dorvakt\.service$/m);
    expect(out).toContain('would run: udevadm control --reload-rules');
    expect(mode('etc/dorvakt')).toBe('750');
    expect(mode('var/lib/dorvakt')).toBe('700');
    expect(mode('etc/dorvakt/card-hmac.key')).toBe('600');
    expect(read('etc/dorvakt/card-hmac.key').length).toBeGreaterThanOrEqual(32);
    expect(read('etc/dorvakt/dorvakt.yaml')).toBe(readFileSync('config/dorvakt.example.yaml', 'utf8'));
    expect(read('etc/systemd/system/dorvakt.service')).toBe(readFileSync('systemd/dorvakt.service', 'utf8'));
    const rule = read('etc/udev/rules.d/99-dorvakt-reader.rules');
    expect(rule.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", ATTRS{serial}=="A12B", SYMLINK+="dorvakt-reader", GROUP="dialout", MODE="0660"',
    ]);
    expect(read('opt/dorvakt/package.json')).toBe(readFileSync('package.json', 'utf8'));
  });

  it('a second run keeps the edited config and the key, and enables the agent on request', () => {
    const key = read('etc/dorvakt/card-hmac.key');
    writeFileSync(join(root.path, 'etc/dorvakt/dorvakt.yaml'), 'site: { id: edited }\n');
    const out = install('--with-nvr-agent');
    expect(read('etc/dorvakt/card-hmac.key')).toBe(key);
    expect(read('etc/dorvakt/dorvakt.yaml')).toBe('site: { id: edited }\n');
    expect(out).toContain('kept the card HMAC key');
    expect(out).toMatch(/would run: systemctl enable dorvakt\.service dorvakt-nvr-agent\.service$/m);
    // Without reader flags an existing rule (with real ids) stays as it is.
    expect(read('etc/udev/rules.d/99-dorvakt-reader.rules')).toContain('ATTRS{idVendor}=="0403"');
    expect(mode('var/lib/dorvakt-nvr-agent')).toBe('700');
  });

  it('refuses malformed reader ids', () => {
    const result = spawnSync(
      'bash',
      ['hardware/install.sh', '--reader-vendor', '04O3', '--reader-product', '6001'],
      {
        env: { ...process.env, DORVAKT_ROOT: root.path },
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--reader-vendor must be 4 hex digits');
  });

  it('the udev rule template names the reader /dev/dorvakt-reader for group dialout', () => {
    const rule = readFileSync('hardware/99-dorvakt-reader.rules', 'utf8');
    expect(rule).toMatch(
      /^SUBSYSTEM=="tty", ATTRS\{idVendor\}=="VVVV", .*SYMLINK\+="dorvakt-reader", GROUP="dialout", MODE="0660"$/m,
    );
    expect(rule).toContain('udevadm info');
  });
});
