import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DENY_REASONS, GRANT_REASONS } from '../../src/contract/reasons.ts';
import { READER_REJECT_REASONS, type ReaderRejectReason } from '../../src/contract/reader.ts';
import { doorStateSchema, eventSchema, infoSchema, WIRE_EVENT_TYPES } from '../../src/contract/mqtt.ts';
import { checkDoorState, checkEvent, checkInfo, parseEvent } from '../../src/contract/mqtt-check.ts';
import type { RejectReason } from '../../src/reader/frames.ts';

const TS = '2026-11-30T02:00:00.000Z';
const entry = {
  v: 2,
  type: 'entry',
  door: 'front',
  outcome: 'denied',
  reason: 'fines',
  mode: 'staffless',
  ts: TS,
};
const info = {
  v: 2,
  contract: 2,
  software: { name: 'dorvakt', version: '0.1.0' },
  site: { id: 'hoved', name: '' },
  doors: [{ id: 'front', name: 'Front' }],
  capabilities: { nvr: false, frigate_recording: false, pin: false, patrons: 'local', mqtt_protocol: 4 },
  ts: TS,
};
const doorState = { locked: true, open: false, held: false, fire: false, mode: 'closed', alarm: [], ts: TS };

const docs = readFileSync(new URL('../../docs/mqtt.md', import.meta.url), 'utf8');

describe('contract v2 schemas, as a consumer applies them', () => {
  it('accepts the documented shapes', () => {
    expect(checkEvent(entry).ok).toBe(true);
    expect(checkInfo(info).ok).toBe(true);
    expect(checkDoorState(doorState).ok).toBe(true);
  });

  it('refuses every v1 payload (untyped reason, no v)', () => {
    for (const v1 of [
      { type: 'entry', door: 'front', outcome: 'granted', reason: 'allow', mode: 'staffless', ts: TS },
      { type: 'alarm', door: null, reason: 'store_error', state: 'raised', ts: TS },
      { type: 'mode', door: 'front', reason: 'closed', ts: TS },
      { type: 'closing_soon', door: 'front', reason: '10', ts: TS },
      { type: 'reader_rejected', door: null, reason: 'bad_frame', ts: TS },
    ])
      expect(checkEvent(v1).ok, JSON.stringify(v1)).toBe(false);
  });

  it('refuses identity or any other key the contract does not name, on every payload', () => {
    for (const key of ['card', 'card_hash', 'name', 'category', 'entryId', 'pin']) {
      expect(checkEvent({ ...entry, [key]: 'x' }).ok, key).toBe(false);
      expect(checkDoorState({ ...doorState, [key]: 'x' }).ok, key).toBe(false);
      expect(checkInfo({ ...info, [key]: 'x' }).ok, key).toBe(false);
      // A door's name is its display name, a configured place, not a person.
      if (key !== 'name')
        expect(checkInfo({ ...info, doors: [{ id: 'front', name: 'Front', [key]: 'x' }] }).ok, key).toBe(
          false,
        );
    }
  });

  it('ties the reason to the outcome: a granted entry names a grant reason, a denied one a deny reason', () => {
    for (const reason of GRANT_REASONS) {
      expect(checkEvent({ ...entry, outcome: 'granted', reason }).ok, reason).toBe(true);
      expect(checkEvent({ ...entry, outcome: 'denied', reason }).ok, reason).toBe(false);
    }
    for (const reason of DENY_REASONS) {
      expect(checkEvent({ ...entry, outcome: 'denied', reason }).ok, reason).toBe(true);
      expect(checkEvent({ ...entry, outcome: 'granted', reason }).ok, reason).toBe(false);
    }
  });

  it('wants numbers as numbers and every key present', () => {
    const soon = { v: 2, type: 'closing_soon', door: 'front', minutes: 10, at: TS, ts: TS };
    expect(checkEvent(soon).ok).toBe(true);
    expect(checkEvent({ ...soon, minutes: '10' }).ok).toBe(false);
    const { at: _at, ...withoutAt } = soon;
    expect(checkEvent(withoutAt).ok).toBe(false);
    const mode = { v: 2, type: 'mode', door: 'front', mode: 'closed', next: null, ts: TS };
    expect(checkEvent(mode).ok).toBe(true);
    const { next: _next, ...withoutNext } = mode;
    expect(checkEvent(withoutNext).ok).toBe(false);
    expect(checkInfo({ ...info, doors: undefined }).ok).toBe(false);
  });

  it('parses raw payloads: not JSON and oversized are refused unread', () => {
    expect(parseEvent(JSON.stringify(entry)).ok).toBe(true);
    expect(parseEvent('{"v":2,')).toEqual({ ok: false, errors: 'not JSON' });
    expect(parseEvent(' '.repeat(20_000))).toEqual({ ok: false, errors: 'payload too large' });
  });

  it("knows exactly the reader's reject codes", () => {
    expectTypeOf<ReaderRejectReason>().toEqualTypeOf<RejectReason>();
    expect(new Set(READER_REJECT_REASONS).size).toBe(READER_REJECT_REASONS.length);
  });
});

describe('docs/mqtt.md and docs/mqtt-schemas/ say what the code checks', () => {
  it('the schema files equal the exported schemas', () => {
    for (const [file, schema] of [
      ['v2-event', eventSchema],
      ['v2-door-state', doorStateSchema],
      ['v2-info', infoSchema],
    ] as const) {
      const text = readFileSync(
        new URL(`../../docs/mqtt-schemas/${file}.schema.json`, import.meta.url),
        'utf8',
      );
      expect(JSON.parse(text), file).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });

  it('the event table lists every type with exactly the fields its schema has', () => {
    const table = docs.slice(docs.indexOf('<!-- event-fields -->')).split('\n\n')[0]!;
    const rows = new Map<string, string[]>();
    for (const line of table.split('\n')) {
      const match = /^\| `([a-z_]+)` \| (.*) \|$/.exec(line);
      if (!match) continue;
      // A field is a backticked name at the start of the cell or after `; ` (other backticks are values).
      const fields = [...match[2]!.matchAll(/(?:^|; )`([a-z_]+)`/g)].map((m) => m[1]!);
      rows.set(match[1]!, fields.sort());
    }
    expect([...rows.keys()].sort()).toEqual([...WIRE_EVENT_TYPES].sort());
    for (const branch of eventSchema.oneOf) {
      const type = branch.properties.type.const;
      const fields = Object.keys(branch.properties)
        .filter((k) => !['v', 'type', 'ts'].includes(k))
        .sort();
      expect(rows.get(type), type).toEqual(fields);
    }
  });

  it('the example payloads in docs/mqtt.md pass the schemas', () => {
    const examples = docs
      .split('\n')
      .filter((line) => line.startsWith('{"v":2,"type"'))
      .map((line) => JSON.parse(line) as unknown);
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) expect(checkEvent(example).ok, JSON.stringify(example)).toBe(true);
    const infoSection = docs.slice(docs.indexOf('### `<base>/info`'));
    const infoExample = /```json\n([\s\S]*?)```/.exec(infoSection)?.[1];
    expect(checkInfo(JSON.parse(infoExample ?? 'null')).ok).toBe(true);
  });
});
