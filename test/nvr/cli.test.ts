import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExportCase } from '../../src/contract/nvr-admin.ts';
import { runExportCommand } from '../../src/nvr/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { captureLog, DAY, makeController, testNvrConfig } from './helpers.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup() {
  const tmp = tempDir('nvr-cli-');
  cleanups.push(() => tmp.cleanup());
  const { log } = captureLog();
  // The CLI process has no MQTT: it queues in the database, the running service sends.
  const rig = makeController(
    join(tmp.path, 'db.sqlite'),
    null,
    log,
    testNvrConfig({ cameras: ['door', 'hall'] }),
  );
  cleanups.push(() => rig.close());
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) };
  const run = (...argv: string[]) =>
    runExportCommand(argv, { admin: () => rig.controller, actor: 'cli:test' }, io);
  return { rig, out, err, run };
}

describe('dorvakt export', () => {
  it('opens, lists, renews and closes a case, and queues the export request for the service', async () => {
    const { rig, out, run } = setup();
    const from = new Date(Date.now() - DAY).toISOString();
    const to = new Date(Date.now() - DAY + 600_000).toISOString();
    const args = ['open', '--case', '2026/99', '--authority', 'Politiet', '--from', from, '--to', to];
    expect(await run(...args, '--camera', 'door', '--reason', 'vandalism', '--json')).toBe(0);
    const opened = JSON.parse(out.join('\n')) as ExportCase;
    expect(opened).toMatchObject({
      caseNumber: '2026/99',
      cameras: ['door'],
      state: 'held',
      openedBy: 'cli:test',
    });
    const queued = rig.db.prepare("SELECT payload FROM nvr_outbox WHERE kind = 'export'").get() as {
      payload: string;
    };
    expect(JSON.parse(queued.payload)).toMatchObject({
      case: `2026_99_${opened.id.slice(0, 8)}`,
      cameras: ['door'],
    });

    out.length = 0;
    expect(await run('list')).toBe(0);
    expect(out.join('\n')).toContain('case 2026/99  held');

    expect(await run('renew', opened.id, '--reason', 'investigation continues')).toBe(0);
    expect(await run('close', opened.id, '--reason', 'delivered')).toBe(0);
    expect(rig.controller.listExports()[0]?.state).toBe('closed');
    const audit = rig.db.prepare('SELECT actor, action FROM audit ORDER BY id').all();
    expect(audit).toEqual([
      { actor: 'cli:test', action: 'nvr.export.open' },
      { actor: 'cli:test', action: 'nvr.hold.renew' },
      { actor: 'cli:test', action: 'nvr.export.close' },
    ]);
  });

  it('exits 1 with the reason when refused, and 2 on usage errors', async () => {
    const { err, run } = setup();
    const old = [
      '--from',
      new Date(Date.now() - 9 * DAY).toISOString(),
      '--to',
      new Date(Date.now() - 8 * DAY).toISOString(),
    ];
    expect(await run('open', '--case', 'K1', '--authority', 'P', ...old, '--reason', 'r')).toBe(1);
    expect(err.join('\n')).toMatch(/refused: .*already been deleted/);
    expect(await run('open', '--case', 'K1')).toBe(2);
    expect(await run('close', 'some-id')).toBe(2);
    expect(await run('frobnicate')).toBe(2);
    expect(await run('list', '--bogus')).toBe(2);
    expect(await run('close', 'no-such-id', '--reason', 'x')).toBe(1);
  });
});
