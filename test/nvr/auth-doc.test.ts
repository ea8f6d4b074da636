/** The worked example in docs/mqtt.md is recomputed here, so the page cannot drift from the code. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { macInput, NvrAuth, seal } from '../../src/contract/nvr-auth.ts';

const doc = readFileSync('docs/mqtt.md', 'utf8');
const block = (marker: string) => {
  const m = doc.match(new RegExp(`<!-- ${marker} -->\\n\`\`\`text\\n(.*)\\n\`\`\``));
  if (!m) throw new Error(`docs/mqtt.md has no block after <!-- ${marker} -->`);
  return m[1];
};

describe('docs/mqtt.md worked example', () => {
  const key = { id: 'site-2026a', secret: 'example-only-0123456789abcdef0123456789' };
  const now = new Date('2026-11-30T02:00:00.000Z');
  const nonce = '4f3c2a1b0e9d8c7b6a5f4e3d2c1b0a99';
  const topic = 'dorvakt/hovedbiblioteket/nvr/purge/request';
  const body = {
    id: 'b8f0c3a2-5d7e-4c1a-9f6b-2e8d4a7c1f03',
    before: '2026-11-23T02:00:00.000Z',
    cameras: ['entrance'],
    holds: [],
    ts: '2026-11-30T02:00:00.000Z',
  };

  it('shows the exact bytes that are MACed and the exact payload', () => {
    for (const fact of [key.id, key.secret, now.toISOString(), nonce, topic]) expect(doc).toContain(fact);
    expect(block('mac-input')).toBe(
      macInput({ v: 1, kid: key.id, ts: now.toISOString(), nonce, topic, body }),
    );
    expect(block('sealed')).toBe(seal(key, topic, body, { now, nonce }));
  });

  it('the payload shown opens with that key on that topic', () => {
    const auth = new NvrAuth({ keys: [key], now: () => now });
    expect(auth.open(topic, Buffer.from(block('sealed') ?? ''))).toMatchObject({ ok: true, body });
  });
});
