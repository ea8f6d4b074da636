import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runEmergencyCommand } from '../../src/emergency/cli.ts';
import { EmergencyModes } from '../../src/emergency/modes.ts';
import { runLocalAccessCommand } from '../../src/local-access/cli.ts';
import { LocalAccessLookup } from '../../src/local-access/facts.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { openDb } from '../../src/store/db.ts';
import { localToUtc } from '../../src/web/time.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY = 'local-access-cli-site-key-0123456789';
const hash = cardHasher(KEY);
const NOW = Date.UTC(2026, 10, 30, 9); // Monday 10:00 in Oslo

describe('dorvakt block / pass / emergency (in process)', () => {
  const dir = tempDir('dorvakt-cli-local-');
  afterAll(() => dir.cleanup());
  const db = openDb(join(dir.path, 'store.sqlite'));
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: { write: (t: string) => out.push(t) }, err: { write: (t: string) => err.push(t) } };
  const run = (...argv: string[]) =>
    runLocalAccessCommand(argv, {
      db,
      hashCard: hash,
      doors: [
        { id: 'main', reader: { card_pattern: '^[0-9]{10}$' } },
        { id: 'staff', reader: { card_pattern: '^[0-9]{10}$' } },
      ],
      timezone: 'Europe/Oslo',
      actor: 'cli:test',
      readStdin: () => '1234567890\n',
      now: () => NOW,
      ...io,
    });
  const emergency = (...argv: string[]) =>
    runEmergencyCommand(argv, {
      db,
      actor: 'cli:test',
      localToUtc: (d, t) => localToUtc(d, t, 'Europe/Oslo'),
      now: () => NOW,
      ...io,
    });
  const lookup = new LocalAccessLookup(db, 'Europe/Oslo');

  it('blocks a card from stdin at one door until the end of a local day, lists it masked, removes it', () => {
    expect(
      run(
        'block',
        'add',
        '--card',
        '-',
        '--note',
        'threats to staff',
        '--expires',
        '2026-12-24',
        '--door',
        'main',
      ),
    ).toBe(0);
    expect(out.join('')).toContain('blocked …890 until 2026-12-24T23:00:00.000Z');
    expect(lookup.factsFor(hash('1234567890'), 'main', new Date(NOW)).blocked).toBe(true);
    expect(lookup.factsFor(hash('1234567890'), 'staff', new Date(NOW)).blocked).toBe(false);
    out.length = 0;
    expect(run('block', 'list')).toBe(0);
    expect(out.join('')).toBe(
      `…890\t${hash('1234567890')}\t2026-12-24T23:00:00.000Z\tmain\tthreats to staff\n`,
    );
    expect(out.join('')).not.toContain('1234567890');
    expect(run('block', 'remove', '--hash', hash('1234567890'), '--reason', 'settled')).toBe(0);
    expect(run('block', 'remove', '--card', '1234567890')).toBe(1);
    expect(
      db.prepare("SELECT action, actor FROM audit WHERE action LIKE 'block.%' ORDER BY id").all(),
    ).toEqual([
      { action: 'block.added', actor: 'cli:test' },
      { action: 'block.removed', actor: 'cli:test' },
    ]);
  });

  it('refuses what it cannot store, saying why', () => {
    err.length = 0;
    expect(run('block', 'add', '--card', '12', '--note', 'x y z', '--expires', '2026-12-24')).toBe(2);
    expect(run('block', 'add', '--card', '-', '--note', 'x y z', '--expires', '24.12.2026')).toBe(2);
    expect(run('block', 'add', '--card', '-', '--note', 'x y z', '--expires', '2028-01-01')).toBe(2);
    expect(
      run(
        'pass',
        'add',
        '--card',
        '-',
        '--kind',
        'temporary',
        '--note',
        'visitor',
        '--hours',
        'Mo-Fr 06:00-08:00',
        '--expires',
        '2027-06-01',
      ),
    ).toBe(2);
    expect(
      run(
        'pass',
        'add',
        '--card',
        '-',
        '--kind',
        'cleaner',
        '--note',
        'Renhold',
        '--hours',
        'weekdays',
        '--expires',
        '2027-06-01',
      ),
    ).toBe(2);
    expect(err.join('')).toMatch(
      /no door here accepts[\s\S]*YYYY-MM-DD[\s\S]*366 days[\s\S]*92 days[\s\S]*hours/,
    );
  });

  it('issues a cleaner pass with its own hours and camera consent by default required', () => {
    out.length = 0;
    expect(
      run(
        'pass',
        'add',
        '--card',
        '-',
        '--kind',
        'cleaner',
        '--note',
        'Renhold AS',
        '--hours',
        'Mo-Fr 06:00-08:00',
        '--expires',
        '2027-03-31',
        '--door',
        'staff',
      ),
    ).toBe(0);
    expect(out.join('')).toMatch(/register its camera consent/);
    const at = (iso: string) => new Date(iso);
    expect(lookup.factsFor(hash('1234567890'), 'staff', at('2026-12-01T05:30:00Z')).pass).toEqual({
      expired: false,
      forThisDoor: true,
      insideHours: true,
      cameraConsentRequired: true,
    });
    expect(lookup.factsFor(hash('1234567890'), 'staff', at('2026-12-01T07:00:00Z')).pass?.insideHours).toBe(
      false,
    );
    expect(lookup.factsFor(hash('1234567890'), 'main', at('2026-12-01T05:30:00Z')).pass?.forThisDoor).toBe(
      false,
    );
    out.length = 0;
    expect(run('pass', 'list')).toBe(0);
    expect(out.join('')).toContain('cleaner\tMo-Fr 06:00-08:00\tcamera consent required');
  });

  it('sets, shows and ends an emergency mode, audited', () => {
    out.length = 0;
    expect(emergency('set', 'nobody', '--until', '2026-11-30T18:00', '--reason', 'burst pipe')).toBe(0);
    expect(out.join('')).toContain('emergency mode nobody until 2026-11-30T17:00:00.000Z');
    expect(new EmergencyModes(db).current(new Date(NOW))?.mode).toBe('nobody');
    expect(emergency('status')).toBe(0);
    expect(out.join('')).toContain('nobody until 2026-11-30T17:00:00.000Z: burst pipe');
    expect(emergency('set', 'all', '--until', '1h', '--reason', 'x y z')).toBe(2);
    expect(emergency('set', 'everybody', '--until', 'soon', '--reason', 'x y z')).toBe(2);
    expect(emergency('end', '--reason', 'fixed')).toBe(0);
    expect(emergency('end')).toBe(1);
    expect(
      db.prepare("SELECT action, reason FROM audit WHERE action LIKE 'emergency.%' ORDER BY id").all(),
    ).toEqual([
      { action: 'emergency.set', reason: 'burst pipe' },
      { action: 'emergency.ended', reason: 'fixed' },
    ]);
  });
});

describe('dorvakt block as a command', () => {
  const dir = tempDir('dorvakt-cli-block-');
  afterAll(() => dir.cleanup());
  const config = join(dir.path, 'dorvakt.yaml');
  writeFileSync(join(dir.path, 'key'), KEY);
  chmodSync(join(dir.path, 'key'), 0o600);
  writeFileSync(
    config,
    `site: { id: cli }\nsecrets: { card_hmac_key: { file: key } }\ndoors:\n  - id: main\n    schedule: { staffless: "Mo-Su 07:00-22:00" }\n    reader: { path: /dev/null }\nstore: { path: store.sqlite }\n`,
  );
  // One real process: the wiring of bin/dorvakt.mjs (a loaded VM takes seconds to start it).
  it('reads the card from stdin, stores only its hash and hint', { timeout: 60_000 }, () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const ok = spawnSync(
      process.execPath,
      [
        'bin/dorvakt.mjs',
        'block',
        'add',
        '--card',
        '-',
        '--note',
        'window broken',
        '--expires',
        tomorrow,
        '--config',
        config,
      ],
      { encoding: 'utf8', input: '10000003\n' },
    );
    expect(ok.status, ok.stderr).toBe(0);
    const db = openDb(join(dir.path, 'store.sqlite'));
    try {
      expect(db.prepare('SELECT card_hash, card_hint FROM local_blocks').all()).toEqual([
        { card_hash: hash('10000003'), card_hint: '…03' },
      ]);
    } finally {
      db.close();
    }
  });
});
