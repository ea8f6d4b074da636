import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCheckConfig } from '../../src/cli/check-config.ts';
import { inspectConfigFile } from '../../src/config/check.ts';
import { CONFIG_VERSION } from '../../src/config/migrations.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/dorvakt.mjs', ...args], { encoding: 'utf8' });

/**
 * `dorvakt check-config FILE` in this process: what bin/dorvakt.mjs calls, with what it passes (one real
 * command below proves that wiring; each spawn is a tsx start).
 */
const checkConfig = (file: string) => {
  const stderr: string[] = [];
  const status = runCheckConfig(
    [file],
    {
      inspect: inspectConfigFile,
      version: CONFIG_VERSION,
      checkCommand: (f, migrate) => `dorvakt check-config ${migrate ? '--migrate ' : ''}${f}`,
    },
    { out: () => {}, err: (line) => stderr.push(`${line}\n`) },
  );
  return { status, stderr: stderr.join('') };
};

// Seven different mistakes, one per kind of check; the line of each is given after it.
const SEVEN = `version: 2
site:
  id: seven
  timezone: Europe/Atlantis
secrets:
  card_hmac_key: { file: missing.key }
doors:
  - id: main
    schedule:
      staffless: "Mo-Xy 07:00-22:00"
    reader:
      path: /dev/ttyUSB0
      baud: 9600
  - id: side
    schedule:
      staffed: "Mo-Fr 25:00-26:00"
    reader:
      path: /dev/ttyUSB1
access:
  min_age: 99
mqtt:
  password: { file: open.password }
`;

const EXPECTED = [
  { key: 'site.timezone', line: 4 },
  { key: 'secrets.card_hmac_key.file', line: 6 },
  { key: 'doors.0.schedule.staffless', line: 10 },
  { key: 'doors.0.reader.baud', line: 13 },
  { key: 'doors.1.schedule.staffed', line: 16 },
  { key: 'access.min_age', line: 20 },
  { key: 'mqtt.password.file', line: 22 },
];

describe('check-config reports every error in one pass', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  const write = (text: string) => {
    const file = join(dir.path, 'dorvakt.yaml');
    writeFileSync(file, text);
    return file;
  };

  it('seven mistakes (schema, schedules, time zone, secret files) are seven problems, each with key and line', () => {
    writeFileSync(join(dir.path, 'open.password'), 'writable-by-all\n', { mode: 0o666 });
    chmodSync(join(dir.path, 'open.password'), 0o666);
    const found = inspectConfigFile(write(SEVEN));
    expect(found.config).toBeNull();
    expect(found.problems.map(({ key, line }) => ({ key, line })).sort((a, b) => a.line! - b.line!)).toEqual(
      EXPECTED,
    );
    const byKey = new Map(found.problems.map((p) => [p.key, p.message]));
    expect(byKey.get('site.timezone')).toMatch(/IANA/);
    expect(byKey.get('secrets.card_hmac_key.file')).toMatch(/missing\.key does not exist/);
    expect(byKey.get('mqtt.password.file')).toMatch(/can be written by other users \(mode 0666\)/);
    expect(byKey.get('doors.0.reader.baud')).toBe('unknown key "baud"');
  });

  it('the command prints all seven and exits non-zero', () => {
    writeFileSync(join(dir.path, 'open.password'), 'writable-by-all\n');
    chmodSync(join(dir.path, 'open.password'), 0o666);
    const file = write(SEVEN);
    const result = run('check-config', file);
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(7);
    for (const { key, line } of EXPECTED) expect(result.stderr).toContain(`${file}:${line}: ${key}: `);
  }, 90_000);

  const MINIMAL = (secret: string) => `version: 2
site: { id: s }
secrets:
  card_hmac_key: { file: ${secret} }
doors:
  - id: main
    schedule: { staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/ttyUSB0 }
`;

  it('a missing secret file fails check-config (it used to pass and then fail the start)', () => {
    const result = checkConfig(write(MINIMAL('card.key')));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/:4: secrets\.card_hmac_key\.file: .*card\.key does not exist/);
  }, 90_000);

  it('an empty or a writable-by-others secret file, or a folder, is refused; readable-by-others warns; 0600 and 0640 pass', () => {
    const key = join(dir.path, 'card.key');
    const file = write(MINIMAL('card.key'));
    const problemOf = () => inspectConfigFile(file).problems.map((p) => p.message);
    writeFileSync(key, '\n', { mode: 0o600 });
    expect(problemOf()).toEqual([expect.stringMatching(/is empty/)]);
    writeFileSync(key, 'a-card-hmac-key-0123456789\n');
    expect(problemOf()).toEqual([]);
    chmodSync(key, 0o640);
    expect(problemOf()).toEqual([]);
    for (const mode of [0o660, 0o602, 0o666]) {
      chmodSync(key, mode);
      expect(problemOf(), mode.toString(8)).toEqual([expect.stringMatching(/can be written by other users/)]);
    }
    // Left 644 by an older install: said, but the door still starts after the upgrade.
    for (const mode of [0o604, 0o644]) {
      chmodSync(key, mode);
      expect(inspectConfigFile(file).problems, mode.toString(8)).toEqual([
        expect.objectContaining({
          warning: true,
          message: expect.stringMatching(/can be read by other users/),
        }),
      ]);
      const result = checkConfig(file);
      expect(result.status, mode.toString(8)).toBe(0);
      expect(result.stderr).toMatch(/warning: .*can be read by other users/);
    }
    const folder = write(MINIMAL('keys'));
    mkdirSync(join(dir.path, 'keys'));
    expect(inspectConfigFile(folder).problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/is not a file/),
    ]);
  });

  it("the anonymisation's cron expression is checked, with its key and line", () => {
    writeFileSync(join(dir.path, 'card.key'), 'a-card-hmac-key-0123456789\n', { mode: 0o600 });
    const bad = `${MINIMAL('card.key')}entries: { anonymise_at: "75 3 * * *" }\n`;
    const found = inspectConfigFile(write(bad)).problems.filter((p) => !p.warning);
    expect(found.map((p) => [p.key, p.message])).toEqual([
      ['entries.anonymise_at', '"75 3 * * *" is not a cron expression'],
    ]);
    expect(found[0]!.line).toBeGreaterThan(1);
    const good = `${MINIMAL('card.key')}entries: { anonymise_at: "30 1 * * *" }\n`;
    expect(inspectConfigFile(write(good)).problems.filter((p) => !p.warning)).toEqual([]);
  });

  it('every bad expression of a door is named, not only the first; a bad site hides none of them', () => {
    const text = MINIMAL('card.key')
      .replace('site: { id: s }', 'site: { id: s, timezone: Mars/Olympus, country: XX }')
      .replace(
        'schedule: { staffless: "Mo-Su 07:00-22:00" }',
        [
          'schedule:',
          '      staffed: "Mo-Xy 10:00-12:00"',
          '      staffless: "Mo-Su 07:00-22:00 PH"',
          '      exceptions:',
          '        - { date: "2026-02-30", closed: true }',
          '        - { date: "2026-12-24", closed: true, staffed: "10:00-12:00" }',
          '        - { date: "2026-12-31", staffless: "07:00-15:00" }',
          '        - { date: "2026-12-31", closed: true }',
        ].join('\n'),
      );
    writeFileSync(join(dir.path, 'card.key'), 'a-card-hmac-key-0123456789\n', { mode: 0o600 });
    const found = inspectConfigFile(write(text)).problems;
    expect(found.map((p) => [p.key, p.line])).toEqual([
      ['site.country', 2], // the schema's (an enum)
      ['site.timezone', 2],
      ['doors.0.schedule.staffed', 8],
      ['doors.0.schedule.staffless', 9],
      ['doors.0.schedule.exceptions.0.date', 11],
      ['doors.0.schedule.exceptions.1', 12],
      ['doors.0.schedule.exceptions.3.date', 14],
    ]);
  });
});
