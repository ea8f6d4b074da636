import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, macInput, NvrAuth, type NvrKey, seal } from '../../src/contract/nvr-auth.ts';

const K1: NvrKey = { id: 'k1', secret: 'a'.repeat(32) };
const K2: NvrKey = { id: 'k2', secret: 'b'.repeat(40) };
const T = new Date('2026-11-30T01:00:00.000Z');
const topic = 'nvr/purge/request';
const body = {
  id: 'p-1',
  before: '2026-11-23T01:00:00.000Z',
  cameras: ['door'],
  holds: [],
  ts: T.toISOString(),
};

const auth = (
  keys: NvrKey[] = [K1],
  now = T,
  extra: Partial<ConstructorParameters<typeof NvrAuth>[0]> = {},
) => new NvrAuth({ keys, now: () => now, ...extra });
const buf = (s: string) => Buffer.from(s, 'utf8');

describe('canonical JSON', () => {
  it('sorts keys at every depth, drops undefined members, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null, 'x'], c: undefined, b: 2.5 } })).toBe(
      '{"a":{"b":2.5,"d":[true,null,"x"]},"b":1}',
    );
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
  });

  it('the MAC input names the topic and is the same whatever order the sender wrote the body in', () => {
    const input = macInput({ v: 1, kid: 'k1', ts: 'T', nonce: 'n', topic: 't', body: { z: 1, a: 2 } });
    expect(input).toBe('{"body":{"a":2,"z":1},"kid":"k1","nonce":"n","topic":"t","ts":"T","v":1}');
  });

  it('a body sent with its keys in another order opens', () => {
    const sealed = JSON.parse(seal(K1, topic, body, { now: T })) as { body: Record<string, unknown> };
    const reversed = Object.fromEntries(Object.entries(sealed.body).reverse());
    const rewritten = JSON.stringify({ ...sealed, body: reversed }, null, 2);
    expect(auth().open(topic, buf(rewritten))).toMatchObject({ ok: true, body });
  });
});

describe('seal and open', () => {
  it('opens what it sealed, once', () => {
    const a = auth();
    const sealed = a.seal(topic, body);
    const opened = a.open(topic, buf(sealed));
    expect(opened).toEqual({
      ok: true,
      body,
      kid: 'k1',
      ts: T.getTime(),
      nonce: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(a.open(topic, buf(sealed))).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('the MAC is HMAC-SHA256 over the canonical input', () => {
    const nonce = '0'.repeat(32);
    const env = JSON.parse(seal(K1, topic, body, { now: T, nonce })) as { mac: string };
    const expected = createHmac('sha256', K1.secret)
      .update(macInput({ v: 1, kid: 'k1', ts: T.toISOString(), nonce, topic, body }))
      .digest('hex');
    expect(env.mac).toBe(expected);
  });

  it('names why a message is dropped', () => {
    const sealed = seal(K1, topic, body, { now: T });
    const env = JSON.parse(sealed) as Record<string, unknown>;
    const cases: [string, string][] = [
      [JSON.stringify(body), 'unsigned'],
      ['{oops', 'malformed'],
      ['[1]', 'malformed'],
      [JSON.stringify({ ...env, extra: 1 }), 'malformed'],
      [JSON.stringify({ ...env, v: 2 }), 'malformed'],
      [JSON.stringify({ ...env, mac: (env.mac as string).toUpperCase() }), 'malformed'],
      [JSON.stringify({ ...env, nonce: 'short' }), 'malformed'],
      [JSON.stringify({ ...env, ts: '2026-11-30T01:00:00Z' }), 'malformed'],
      [JSON.stringify({ ...env, body: 'string' }), 'malformed'],
      [JSON.stringify({ ...env, kid: 'k9' }), 'unknown_key'],
      [JSON.stringify({ ...env, body: { ...body, before: '2026-11-30T00:59:00.000Z' } }), 'bad_mac'],
      [seal({ id: 'k1', secret: 'z'.repeat(32) }, topic, body, { now: T }), 'bad_mac'],
    ];
    for (const [payload, reason] of cases)
      expect(auth().open(topic, buf(payload))).toMatchObject({ ok: false, reason });
  });

  it('binds the topic: an answer republished as a request or as the status fails', () => {
    const answer = seal(
      K1,
      'nvr/purge/response',
      { id: 'p-1', ok: true, deleted: 0, oldest: null },
      { now: T },
    );
    expect(auth().open('nvr/status', buf(answer))).toMatchObject({ ok: false, reason: 'bad_mac' });
    expect(auth().open('nvr/purge/request', buf(answer))).toMatchObject({ ok: false, reason: 'bad_mac' });
    expect(auth().open('nvr/purge/response', buf(answer))).toMatchObject({ ok: true });
  });

  it('a timestamp beyond the skew, either way, is a replay; year 9999 too', () => {
    const at = (ms: number) => seal(K1, topic, body, { now: new Date(T.getTime() + ms) });
    expect(auth().open(topic, buf(at(-299_000)))).toMatchObject({ ok: true });
    expect(auth().open(topic, buf(at(299_000)))).toMatchObject({ ok: true });
    expect(auth().open(topic, buf(at(-301_000)))).toMatchObject({ ok: false, reason: 'replay' });
    expect(auth().open(topic, buf(at(301_000)))).toMatchObject({ ok: false, reason: 'replay' });
    const far = seal(K1, topic, body, { now: new Date('9999-12-31T23:59:59.000Z') });
    expect(auth().open(topic, buf(far))).toMatchObject({ ok: false, reason: 'replay' });
    expect(auth(undefined, T, { maxSkewSeconds: 30 }).open(topic, buf(at(-31_000)))).toMatchObject({
      reason: 'replay',
    });
  });

  it('an old retained message is stale, not a replay; a retained one from the future is a replay', () => {
    const old = seal(K1, 'nvr/status', { ts: 'x' }, { now: new Date(T.getTime() - 3_600_000) });
    expect(auth().open('nvr/status', buf(old), { retain: true })).toMatchObject({
      ok: false,
      reason: 'stale',
    });
    const future = seal(K1, 'nvr/status', { ts: 'x' }, { now: new Date(T.getTime() + 3_600_000) });
    expect(auth().open('nvr/status', buf(future), { retain: true })).toMatchObject({ reason: 'replay' });
  });

  it('a seen nonce with DUP (QoS-1 redelivery) or on a retained delivery is a duplicate, without it a replay', () => {
    const a = auth();
    const sealed = buf(a.seal(topic, body));
    expect(a.open(topic, sealed)).toMatchObject({ ok: true });
    expect(a.open(topic, sealed, { dup: true })).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(a.open(topic, sealed, { retain: true })).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(a.open(topic, sealed)).toMatchObject({ ok: false, reason: 'replay' });
    // DUP on a first delivery is just a delivery.
    expect(a.open(topic, buf(a.seal(topic, body)), { dup: true })).toMatchObject({ ok: true });
  });

  it('remembers nonces for the whole skew window, and a full cache never lets an old one through', () => {
    let now = T.getTime();
    const a = new NvrAuth({ keys: [K1], now: () => new Date(now), replayCapacity: 3 });
    const sealed = [0, 1, 2, 3].map((i) => buf(seal(K1, topic, body, { now: new Date(T.getTime() + i) })));
    now += 4;
    for (const s of sealed) expect(a.open(topic, s)).toMatchObject({ ok: true });
    // The first nonce was pushed out of the cache: its message must still not pass.
    expect(a.open(topic, sealed[0]!)).toMatchObject({ ok: false, reason: 'replay' });
    expect(a.open(topic, sealed[3]!)).toMatchObject({ ok: false, reason: 'replay' });
    now += 299_000;
    expect(a.open(topic, sealed[3]!)).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('rotation: keys [new, old] sign with new and verify both; a retired key is unknown', () => {
    const rotating = auth([K2, K1]);
    expect(rotating.open(topic, buf(seal(K1, topic, body, { now: T })))).toMatchObject({
      ok: true,
      kid: 'k1',
    });
    expect(rotating.open(topic, buf(seal(K2, topic, body, { now: T })))).toMatchObject({
      ok: true,
      kid: 'k2',
    });
    expect(JSON.parse(rotating.seal(topic, body)).kid).toBe('k2');
    expect(auth([K2]).open(topic, buf(seal(K1, topic, body, { now: T })))).toMatchObject({
      ok: false,
      reason: 'unknown_key',
    });
  });

  it('refuses short keys and duplicate ids', () => {
    expect(() => auth([{ id: 'k', secret: 'x'.repeat(31) }])).toThrow(/at least 32/);
    expect(() => auth([K1, { ...K1 }])).toThrow(/unique/);
    expect(() => auth([])).toThrow(/at least one/);
  });
});

describe('property: any single-byte change of a sealed message fails to open', () => {
  const bodies = fc.record({
    id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,20}$/),
    ok: fc.boolean(),
    deleted: fc.nat(),
    oldest: fc.option(
      fc
        .date({ min: new Date(0), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString()),
    ),
    note: fc.string({ maxLength: 30 }),
  });

  it('holds for random bodies, positions and byte values', () => {
    fc.assert(
      fc.property(bodies, fc.nat(), fc.integer({ min: 1, max: 255 }), (b, pos, delta) => {
        const sealed = Buffer.from(seal(K1, topic, b, { now: T }), 'utf8');
        const i = pos % sealed.length;
        const changed = Buffer.from(sealed);
        changed[i] = (changed[i]! + delta) % 256;
        return auth().open(topic, changed).ok === false && auth().open(topic, sealed).ok === true;
      }),
      { numRuns: 2000 },
    );
  });
});
