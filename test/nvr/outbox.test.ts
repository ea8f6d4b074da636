import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import type { PurgeRequest } from '../../src/contract/nvr.ts';
import { EventBus } from '../../src/events/bus.ts';
import { Outbox, type OutboxRow } from '../../src/nvr/outbox.ts';
import { openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { captureLog, testNvrConfig } from './helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** An outbox on a real SQLite file with a clock the test moves; the agent never answers. */
function silentAgentOutbox(maxTries: number) {
  const tmp = tempDir('outbox-');
  const db = openDb(join(tmp.path, 'dorvakt.sqlite'));
  cleanups.push(() => {
    db.close();
    tmp.cleanup();
  });
  const alarms = new Alarms(db, new EventBus(), captureLog().log);
  const config = testNvrConfig({
    answer_timeout_ms: 1000,
    max_tries: maxTries,
    backoff: { factor: 1, max_ms: 1000 },
  });
  let now = 1_700_000_000_000;
  const sent: OutboxRow[] = [];
  const outbox = new Outbox({
    config,
    db,
    alarms,
    nowMs: () => now,
    connected: () => true,
    publish: (row) => sent.push(row),
  });
  const request = { id: 'req-1' } as unknown as PurgeRequest;
  outbox.insert('req-1', 'purge', request, now);
  /** Moves the clock to the next resend and sends what is due. */
  const nextRound = () => {
    now += 1000;
    outbox.sendDue();
  };
  return { outbox, alarms, sent, nextRound, sendNow: () => outbox.sendDue() };
}

describe('outbox: a silent agent', () => {
  it('raises nvr_unreachable once max_tries sends went unanswered, not one round later', () => {
    const rig = silentAgentOutbox(2);
    rig.sendNow(); // send 1
    rig.nextRound(); // send 2
    expect(rig.sent).toHaveLength(2);
    expect(rig.alarms.isActive('nvr_unreachable')).toBe(false);
    rig.nextRound(); // 2 sends unanswered: the alarm, and a third try
    expect(rig.alarms.isActive('nvr_unreachable')).toBe(true);
    expect(rig.sent).toHaveLength(3);
  });

  it('with max_tries 1 the first resend raises it', () => {
    const rig = silentAgentOutbox(1);
    rig.sendNow();
    expect(rig.alarms.isActive('nvr_unreachable')).toBe(false);
    rig.nextRound();
    expect(rig.alarms.isActive('nvr_unreachable')).toBe(true);
  });

  it('an answered request raises nothing however long it waits', () => {
    const rig = silentAgentOutbox(1);
    rig.sendNow();
    rig.outbox.markAnswered('req-1', { ok: true }, 0);
    for (let i = 0; i < 5; i++) rig.nextRound();
    expect(rig.sent).toHaveLength(1);
    expect(rig.alarms.isActive('nvr_unreachable')).toBe(false);
  });
});
