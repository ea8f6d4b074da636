import { afterEach, describe, expect, it } from 'vitest';
import type { PatronLookup } from '../../src/contract/patron.ts';
import type { SipEncoding } from '../../src/ils/config.ts';
import { DEMO_SIP2_PATRONS } from '../../src/ils/simulator.ts';
import { createIlsPatronSource } from '../../src/ils/source.ts';
import { verdictFromStanding } from '../../src/ils/standing.ts';
import { waitFor } from '../helpers/ports.ts';
import { type Rig, rig, silentLog } from './helpers.ts';

let current: Rig | null = null;
afterEach(async () => {
  await current?.close();
  current = null;
});
const setup = async (...args: Parameters<typeof rig>) => {
  current = await rig(...args);
  return current;
};

const verdictOf = (lookup: PatronLookup, pin: boolean) =>
  lookup.status === 'ok' ? verdictFromStanding(lookup.standing, pin) : `unavailable: ${lookup.error}`;

describe('Sip2PatronSource against the simulator over TCP', () => {
  const variants: Array<{ encoding: SipEncoding; errorDetection: boolean; message: 63 | 23 }> = [
    { encoding: 'cp850', errorDetection: true, message: 63 },
    { encoding: 'latin1', errorDetection: false, message: 63 },
    { encoding: 'utf8', errorDetection: true, message: 23 },
  ];
  it.each(variants)(
    'answers every demo patron right ($encoding, error detection $errorDetection, message $message)',
    async (v) => {
      const { source, sim } = await setup(
        { encoding: v.encoding, errorDetection: v.errorDetection },
        { message: v.message },
      );
      const cases: Array<[string, string | undefined, string]> = [
        ['10000001', '1234', 'allow'],
        ['10000001', '0000', 'bad_pin'],
        ['10000001', undefined, 'allow'],
        ['10000002', '2345', 'allow'],
        ['10000003', '3456', 'blocked'],
        ['10000004', '4567', 'allow'],
        ['10000005', '5678', 'card_lost'],
        ['10000006', '6789', 'card_expired'],
        ['10000007', '7890', 'allow'],
        ['99999999', '1111', 'unknown_card'],
        ['99999999', undefined, 'unknown_card'],
      ];
      for (const [card, pin, expected] of cases) {
        const lookup = await source.lookup(card, pin);
        expect(verdictOf(lookup, pin !== undefined), `${card}/${pin}`).toBe(expected);
      }
      const child = await source.lookup('10000004', '4567');
      expect(child).toMatchObject({
        status: 'ok',
        source: 'live',
        standing: { known: true, pinOk: true, category: 'B', birthYear: new Date().getFullYear() - 10 },
      });
      const noPin = await source.lookup('10000002');
      expect(noPin).toMatchObject({ status: 'ok', standing: { pinOk: null } });
      // One login for the whole run: the connection is reused.
      expect(sim.stats.logins).toBe(1);
      expect(sim.stats.received.filter((c) => c === String(v.message))).toHaveLength(cases.length + 2);
    },
  );

  it('exports stable demo cards', () => {
    expect(DEMO_SIP2_PATRONS.map((p) => p.card)).toEqual([
      '10000001',
      '10000002',
      '10000003',
      '10000004',
      '10000005',
      '10000006',
      '10000007',
    ]);
    expect(DEMO_SIP2_PATRONS[6]!.name).toBe('Åse Ødegård Æbelø');
  });
});

describe('faults', () => {
  it('slow: times out, answers unavailable, and the late reply is never used', async () => {
    const { source, sim } = await setup(
      { fault: { mode: 'slow', delayMs: 1500, only: ['63'], times: 1 } },
      { request_timeout_ms: 300 },
    );
    const first = await source.lookup('10000003', '3456');
    expect(first).toMatchObject({ status: 'unavailable' });
    expect((first as { error: string }).error).toMatch(/no reply/);
    // The timed-out connection is gone; the next lookup logs in afresh and gets its own answer.
    const second = await source.lookup('10000001', '1234');
    expect(verdictOf(second, true)).toBe('allow');
    expect(sim.stats.logins).toBe(2);
  });

  it('silent: unavailable', async () => {
    const { source } = await setup({ fault: { mode: 'silent', only: ['63'] } }, { request_timeout_ms: 300 });
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
  });

  it('drop: reconnects with a fresh login and answers within the same lookup', async () => {
    const { source, sim } = await setup();
    expect(verdictOf(await source.lookup('10000001', '1234'), true)).toBe('allow');
    sim.setFault({ mode: 'drop', only: ['63'], times: 1 });
    expect(verdictOf(await source.lookup('10000005', '5678'), true)).toBe('card_lost');
    expect(sim.stats.connections).toBe(2);
    expect(sim.stats.logins).toBe(2);
  });

  it('drop with retries 0: unavailable', async () => {
    const { source, sim } = await setup({}, { retries: 0 });
    await source.lookup('10000001', '1234');
    sim.setFault({ mode: 'drop', only: ['63'], times: 1 });
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
  });

  it('a server that closed an idle connection is reconnected transparently', async () => {
    const { source, sim } = await setup();
    await source.lookup('10000001', '1234');
    sim.setFault({ mode: 'down' });
    sim.setFault(null);
    expect(verdictOf(await source.lookup('10000001', '1234'), true)).toBe('allow');
    expect(sim.stats.logins).toBe(2);
  });

  it('garbage: asks for a resend (97) up to the limit, then unavailable', async () => {
    const { source, sim } = await setup({ fault: { mode: 'garbage', only: ['63'] } }, { resend_limit: 2 });
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
    expect(sim.stats.resendRequests).toBe(2);
  });

  it('garbage once: the resend is good and is used', async () => {
    const { source, sim } = await setup({ fault: { mode: 'garbage', only: ['63'], times: 1 } });
    expect(verdictOf(await source.lookup('10000001', '1234'), true)).toBe('allow');
    expect(sim.stats.resendRequests).toBe(1);
  });

  it('garbage without error detection: unavailable, nothing to ask again', async () => {
    const { source, sim } = await setup({ errorDetection: false, fault: { mode: 'garbage', only: ['63'] } });
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
    expect(sim.stats.resendRequests).toBe(0);
  });

  it('bad checksum: never acted on; 97 up to the limit', async () => {
    const { source, sim } = await setup(
      { fault: { mode: 'bad_checksum', only: ['63'] } },
      { resend_limit: 3 },
    );
    const lookup = await source.lookup('10000001', '1234');
    expect(lookup).toMatchObject({ status: 'unavailable' });
    expect((lookup as { error: string }).error).toMatch(/checksum/);
    expect(sim.stats.resendRequests).toBe(3);
  });

  it('bad checksum once: the good resend is used', async () => {
    const { source, sim } = await setup({ fault: { mode: 'bad_checksum', only: ['63'], times: 1 } });
    expect(verdictOf(await source.lookup('10000007', '7890'), true)).toBe('allow');
    expect(sim.stats.resendRequests).toBe(1);
  });

  it('honours the retries field of 98 when it is lower than the configured limit', async () => {
    const { source, sim } = await setup(
      { retriesAllowed: 0, fault: { mode: 'bad_checksum', only: ['63'], times: 1 } },
      { resend_limit: 3 },
    );
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
    expect(sim.stats.resendRequests).toBe(0);
  });

  it('CRLF terminators (Koha) are accepted', async () => {
    const { source } = await setup({ fault: { mode: 'crlf' } });
    for (const [card, pin, expected] of [
      ['10000001', '1234', 'allow'],
      ['10000003', '3456', 'blocked'],
      ['10000007', '7890', 'allow'],
    ] as const) {
      expect(verdictOf(await source.lookup(card, pin), true)).toBe(expected);
    }
  });

  it('96 from the server: the same request is sent again', async () => {
    const { source, sim } = await setup({ fault: { mode: 'request_resend', only: ['63'], times: 2 } });
    expect(verdictOf(await source.lookup('10000006', '6789'), true)).toBe('card_expired');
    expect(sim.stats.received.filter((c) => c === '63')).toHaveLength(3);
  });

  it('96 forever: gives up after the limit', async () => {
    const { source, sim } = await setup(
      { fault: { mode: 'request_resend', only: ['63'] } },
      { resend_limit: 2 },
    );
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
    expect(sim.stats.received.filter((c) => c === '63')).toHaveLength(3);
  });

  it('a reply with the wrong AY (stale) is ignored and the right one used', async () => {
    const { source, sim } = await setup();
    expect(verdictOf(await source.lookup('10000001', '1234'), true)).toBe('allow');
    // The stale frame is the previous answer (an allow) with a wrong AY: taking it would let card 5 in.
    sim.setFault({ mode: 'stale_seq', only: ['63'] });
    expect(verdictOf(await source.lookup('10000005', '5678'), true)).toBe('card_lost');
    expect(verdictOf(await source.lookup('10000003', '3456'), true)).toBe('blocked');
  });

  it('login refused: unavailable with a clear error', async () => {
    const { source } = await setup({ fault: { mode: 'refuse_login' } });
    const lookup = await source.lookup('10000001', '1234');
    expect(lookup).toMatchObject({ status: 'unavailable' });
    expect((lookup as { error: string }).error).toMatch(/login refused/);
  });

  it('wrong password: login refused', async () => {
    const { source } = await setup({ password: 'other' });
    expect(await source.lookup('10000001', '1234')).toMatchObject({
      status: 'unavailable',
      error: expect.stringMatching(/login/),
    });
  });
});

describe('circuit breaker and alarm', () => {
  it('opens after the threshold, answers at once while open, raises and clears ils_offline', async () => {
    const { source, sim, alarms, events } = await setup(
      { fault: { mode: 'silent', only: ['63'] } },
      { request_timeout_ms: 300, circuit: { failure_threshold: 2, backoff_min_ms: 50, backoff_max_ms: 100 } },
    );
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
    expect(alarms.isActive('ils_offline')).toBe(false);
    // Silence on 63 only; recovery probes (login + 99) would close the circuit, so make the system fully down.
    sim.setFault({ mode: 'down' });
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
    expect(alarms.isActive('ils_offline')).toBe(true);
    expect(source.client.isCircuitOpen).toBe(true);
    const requestsBefore = sim.stats.received.length;
    const connectionsBefore = sim.stats.connections;
    const open = await source.lookup('10000001', '1234');
    expect(open).toMatchObject({ status: 'unavailable', error: expect.stringMatching(/circuit open/) });
    // Nothing was sent: the answer came from the breaker, not from a timeout.
    expect(sim.stats.received.length).toBe(requestsBefore);
    expect(sim.stats.connections).toBe(connectionsBefore);

    sim.setFault(null);
    await waitFor(() => !alarms.isActive('ils_offline'), 5000, 'ils_offline cleared');
    expect(verdictOf(await source.lookup('10000001', '1234'), true)).toBe('allow');
    const alarmEvents = events.filter((e) => e.type === 'alarm').map((e) => (e as { state: string }).state);
    expect(alarmEvents).toEqual(['raised', 'cleared']);
  });

  it('after recovery it is half-open: one more failure opens it again at once', async () => {
    const { source, alarms, events } = await setup(
      { fault: { mode: 'silent', only: ['63'] } },
      {
        request_timeout_ms: 300,
        circuit: { failure_threshold: 2, backoff_min_ms: 50, backoff_max_ms: 5000 },
      },
    );
    await source.lookup('10000001', '1234');
    await source.lookup('10000001', '1234');
    expect(source.client.stats().circuit).toBe('open');
    // Login and SC status still work, so the probe succeeds and the alarm clears…
    await waitFor(() => source.client.stats().circuit === 'half_open', 5000, 'half-open');
    expect(alarms.isActive('ils_offline')).toBe(false);
    // …but patron requests are still silent: a single failure opens it again.
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'unavailable' });
    expect(source.client.stats()).toMatchObject({
      circuit: 'open',
      lastError: expect.stringMatching(/no reply to 63/),
    });
    const states = events.filter((e) => e.type === 'alarm').map((e) => (e as { state: string }).state);
    expect(states).toEqual(['raised', 'cleared', 'raised']);
  });

  it('a connection refused opens the circuit without any timeout', async () => {
    const { source, sim, alarms } = await setup(
      {},
      { circuit: { failure_threshold: 1, backoff_min_ms: 50, backoff_max_ms: 100 } },
    );
    await sim.close();
    expect(await source.lookup('10000001', '1234')).toMatchObject({
      status: 'unavailable',
      error: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(alarms.isActive('ils_offline')).toBe(true);
    expect(await source.lookup('10000001', '1234')).toMatchObject({
      error: expect.stringMatching(/circuit open/),
    });
  });

  it('the heartbeat notices an outage before anyone swipes', async () => {
    const { sim, alarms, source } = await setup(
      {},
      { heartbeat_seconds: 1, circuit: { failure_threshold: 1, backoff_min_ms: 50, backoff_max_ms: 100 } },
    );
    expect(verdictOf(await source.lookup('10000001', '1234'), true)).toBe('allow');
    sim.setFault({ mode: 'down' });
    await waitFor(() => alarms.isActive('ils_offline'), 5000, 'ils_offline raised by heartbeat');
    sim.setFault(null);
    await waitFor(() => !alarms.isActive('ils_offline'), 5000, 'ils_offline cleared');
    expect(sim.stats.received).toContain('99');
  });
});

describe('session handling', () => {
  it('connects and logs in at creation when warm-up is on (the default)', async () => {
    const { sim } = await setup();
    const source = createIlsPatronSource(current!.config, { log: silentLog, readSecret: () => 'pw' });
    try {
      // The SC status (99) follows the login's answer: wait for both, not only the login.
      await waitFor(() => sim.stats.received.length >= 2, 5000, 'warm-up login and status');
      expect(sim.stats.logins).toBe(1);
      expect(sim.stats.received).toEqual(['93', '99']);
      expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'ok' });
      expect(sim.stats.logins).toBe(1);
    } finally {
      await source.close();
    }
  });

  it('sends 35 end session after each lookup when configured', async () => {
    const { source, sim } = await setup({}, { end_session: true });
    await source.lookup('10000001', '1234');
    await source.lookup('10000002');
    expect(sim.stats.received).toEqual(['93', '99', '63', '35', '63', '35']);
  });
});

describe('cache and pool', () => {
  it('reuses a good answer for the same card and PIN, never a denial, never across PINs', async () => {
    const { source, sim } = await setup({}, { cache_seconds: 30 });
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'ok', source: 'live' });
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'ok', source: 'cache' });
    expect(sim.stats.patronRequests).toBe(1);
    expect(verdictOf(await source.lookup('10000001', '0000'), true)).toBe('bad_pin');
    expect(await source.lookup('10000001')).toMatchObject({ source: 'live', standing: { pinOk: null } });
    await source.lookup('10000003', '3456');
    await source.lookup('10000003', '3456');
    expect(sim.stats.patronRequests).toBe(5);
    source.clearCache();
    expect(await source.lookup('10000001', '1234')).toMatchObject({ source: 'live' });
  });

  it('while the library system is down, only a recent good answer for the same card and PIN is served', async () => {
    const { source, sim } = await setup(
      {},
      { cache_seconds: 30, circuit: { failure_threshold: 1, backoff_min_ms: 50, backoff_max_ms: 100 } },
    );
    await source.lookup('10000001', '1234');
    sim.setFault({ mode: 'down' });
    expect(await source.lookup('10000001', '1234')).toMatchObject({ status: 'ok', source: 'cache' });
    expect(await source.lookup('10000002', '2345')).toMatchObject({ status: 'unavailable' });
  });

  it('a pool answers concurrent swipes, one request in flight per connection', async () => {
    const { source, sim } = await setup({}, { pool_size: 3 });
    const cards = DEMO_SIP2_PATRONS.flatMap((p) => [p, p]);
    const results = await Promise.all(cards.map((p) => source.lookup(p.card, p.pin)));
    expect(results.every((r) => r.status === 'ok')).toBe(true);
    expect(results.map((r) => (r.status === 'ok' ? r.standing.known : null))).toEqual(cards.map(() => true));
    expect(sim.stats.connections).toBeLessThanOrEqual(3);
    expect(sim.stats.patronRequests).toBe(cards.length);
  });
});
