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
function silentAgentOutbox(
  maxTries: number,
  timing: { answer_timeout_ms: number; backoff: { factor: number; max_ms: number } } = {
    answer_timeout_ms: 1000,
    backoff: { factor: 1, max_ms: 1000 },
  },
) {
  const tmp = tempDir('outbox-');
  const db = openDb(join(tmp.path, 'dorvakt.sqlite'));
  cleanups.push(() => {
    db.close();
    tmp.cleanup();
  });
  const alarms = new Alarms(db, new EventBus(), captureLog().log);
  const config = testNvrConfig({ max_tries: maxTries, ...timing });
  const start = 1_700_000_000_000;
  let now = start;
  let online = true;
  const sent: OutboxRow[] = [];
  const outbox = new Outbox({
    config,
    db,
    alarms,
    nowMs: () => now,
    connected: () => online,
    publish: (row) => sent.push(row),
  });
  const request = { id: 'req-1' } as unknown as PurgeRequest;
  outbox.insert('req-1', 'purge', request, now);
  /** Moves the clock to the next resend and sends what is due. */
  const nextRound = () => {
    now += 1000;
    outbox.sendDue();
  };
  /** Moves the clock in steps of `stepMs` up to `untilMs` after the start, sending what is due at each. */
  const runUntil = (untilMs: number, stepMs: number) => {
    while (now - start < untilMs) {
      now += stepMs;
      outbox.sendDue();
    }
  };
  const setOnline = (value: boolean) => {
    online = value;
  };
  return {
    outbox,
    alarms,
    sent,
    nextRound,
    runUntil,
    setOnline,
    sendNow: () => outbox.sendDue(),
    at: () => now - start,
  };
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

describe('outbox: resends', () => {
  it('back off by the factor from answer_timeout_ms, capped at max_ms', () => {
    const rig = silentAgentOutbox(100, { answer_timeout_ms: 100, backoff: { factor: 2, max_ms: 1000 } });
    const times: number[] = [];
    const record = () => {
      while (times.length < rig.sent.length) times.push(rig.at());
    };
    rig.sendNow();
    record();
    for (let i = 0; i < 260; i++) {
      rig.runUntil(rig.at() + 10, 10);
      record();
    }
    expect(times).toEqual([0, 100, 300, 700, 1500, 2500]);
  });

  it('nothing goes out while disconnected; everything due goes once it is back', () => {
    const rig = silentAgentOutbox(5);
    rig.setOnline(false);
    rig.sendNow();
    rig.nextRound();
    expect(rig.sent).toHaveLength(0);
    rig.setOnline(true);
    rig.sendNow();
    expect(rig.sent.map((r) => r.id)).toEqual(['req-1']);
  });

  it('an accepted export is asked about every max_ms and never counts as silence', () => {
    const rig = silentAgentOutbox(1, { answer_timeout_ms: 100, backoff: { factor: 2, max_ms: 1000 } });
    rig.sendNow();
    rig.outbox.markAccepted('req-1', 1_700_000_000_000);
    rig.runUntil(990, 10);
    expect(rig.sent).toHaveLength(1);
    rig.runUntil(1000, 10);
    expect(rig.sent).toHaveLength(2);
    rig.runUntil(5000, 10);
    expect(rig.sent).toHaveLength(6);
    expect(rig.alarms.isActive('nvr_unreachable')).toBe(false);
  });

  it('a superseded purge is not sent again', () => {
    const rig = silentAgentOutbox(5);
    rig.sendNow();
    rig.outbox.supersedePurges(0);
    for (let i = 0; i < 3; i++) rig.nextRound();
    expect(rig.sent).toHaveLength(1);
    expect(rig.outbox.pendingCount()).toBe(0);
  });
});
