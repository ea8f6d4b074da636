import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { runStatsCommand } from '../../src/stats/cli.ts';
import { openDb } from '../../src/store/db.ts';
import { localDate } from '../../src/time/zone.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY = 'stats-report-cli-site-key-0123456789';

/** bin/dorvakt.mjs as a child process, like the service's admins run it. */
function dorvakt(...args: string[]) {
  return spawnSync(process.execPath, ['bin/dorvakt.mjs', ...args], { encoding: 'utf8', timeout: 110_000 });
}

/**
 * `dorvakt stats ARGS --config FILE` in this process: runStatsCommand with what bin/dorvakt.mjs passes it
 * (the real commands in the tests prove that wiring; each spawn is a tsx start and a compiler child).
 */
async function statsInProcess(config: string, ...args: string[]) {
  const loaded = loadConfig(config);
  const db = openDb(loaded.store.path);
  let stdout = '';
  let stderr = '';
  try {
    const status = await runStatsCommand(args, {
      db,
      doors: loaded.doors,
      site: { timezone: loaded.site.timezone, country: loaded.site.country, region: loaded.site.region },
      thisYear: Number(localDate(new Date(), loaded.site.timezone).slice(0, 4)),
      out: {
        write: (text: string) => {
          stdout += text;
        },
      },
      err: {
        write: (text: string) => {
          stderr += text;
        },
      },
    });
    return { status, stdout, stderr };
  } finally {
    db.close();
  }
}

describe('dorvakt stats report as a command', () => {
  const dir = tempDir('dorvakt-cli-stats-');
  const config = join(dir.path, 'dorvakt.yaml');
  const thisYear = new Date().getUTCFullYear();
  const year = thisYear - 1;
  beforeAll(() => {
    writeFileSync(join(dir.path, 'key'), KEY);
    chmodSync(join(dir.path, 'key'), 0o600);
    writeFileSync(
      config,
      `site: { id: cli, timezone: Europe/Oslo, country: NO }
secrets: { card_hmac_key: { file: key } }
doors:
  - id: main
    schedule: { staffed: "Mo-Fr 10:00-16:00", staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/null }
store: { path: store.sqlite }
`,
    );
    const db = openDb(join(dir.path, 'store.sqlite'));
    const insert = db.prepare(
      `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, source)
       VALUES (?, 'main', ?, 'granted', 'ok', 'h', 'local')`,
    );
    // Noon UTC on 2 March (a weekday, staffed in Oslo) and 20:00 UTC (staffless).
    insert.run(Date.UTC(year, 2, 2, 12), 'staffed');
    insert.run(Date.UTC(year, 2, 2, 20), 'staffless');
    insert.run(Date.UTC(year, 2, 2, 20, 30), 'staffless');
    db.prepare(
      `INSERT INTO entry_stats (day, hour, door, mode, outcome, reason, count)
       VALUES (?, 11, 'main', 'staffed', 'granted', 'ok', 4)`,
    ).run(`${year}-02-03`);
    db.close();
  });
  afterAll(() => dir.cleanup());

  it('writes the year as CSV in the words of the Norwegian form', { timeout: 120_000 }, () => {
    const out = join(dir.path, 'report.csv');
    const run = dorvakt('stats', 'report', '--year', String(year), '--out', out, '--config', config);
    expect(run.status, run.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\r\n');
    expect(lines[0]).toMatch(/^nivå,periode,fra,til,besøk i betjent åpningstid,besøk i meråpen åpningstid,/);
    const yearRow = lines[1]!.split(',');
    expect(yearRow.slice(0, 7)).toEqual([
      'år',
      String(year),
      `${year}-01-01`,
      `${year}-12-31`,
      '5',
      '2',
      '7',
    ]);
    // Staffed 30 h in an ordinary week, less on holiday weeks: the yearly average is a little under 30.
    expect(Number(yearRow[7])).toBeGreaterThan(27);
    expect(Number(yearRow[7])).toBeLessThan(30);
    expect(lines.filter((l) => l.startsWith('uke,')).length).toBeGreaterThanOrEqual(52);
    expect(lines).toContain(`dag,${year}-03-02,${year}-03-02,${year}-03-02,1,2,3,,,,0`);
  });

  it('prints the Danish shape on stdout', { timeout: 120_000 }, async () => {
    const run = await statsInProcess(config, 'report', '--year', String(year), '--format', 'dk');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\r\n')[0]).toMatch(
      /^niveau,periode,fra,til,besøgende i åbningstid med betjening,/,
    );
  });

  it('refuses years that are not real report years', { timeout: 120_000 }, async () => {
    // Next year through the real command: its idea of this year is the command's own wiring.
    const next = dorvakt('stats', 'report', '--year', String(thisYear + 1), '--config', config);
    expect(next.status).toBe(2);
    expect(next.stderr).toMatch(/--year must be a year from 2000/);
    const early = await statsInProcess(config, 'report', '--year', '1999');
    expect(early.status).toBe(2);
    expect(early.stderr).toMatch(/--year must be a year from 2000/);
  });
});
