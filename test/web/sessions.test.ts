import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionStore } from '../../src/web/sessions.ts';
import { findUserByName } from '../../src/web/users.ts';
import { ADMIN, type Harness, login, STAFF, startHarness } from './fixtures.ts';

describe('sessions and the live stream', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ listen: true });
  });
  afterAll(async () => h?.close());

  it('expires idle sessions, slides active ones, and forgets destroyed ones', () => {
    const store = new SessionStore(h.db, 30 * 60_000);
    const user = findUserByName(h.db, STAFF.name)!;
    const t0 = 1_900_000_000_000;
    const { id } = store.create(user.id, t0);
    expect(store.get(id, t0 + 29 * 60_000)?.user.name).toBe(STAFF.name);
    // That read slid the expiry: still alive 29 minutes later, gone after 31 idle minutes.
    expect(store.get(id, t0 + 58 * 60_000)).toBeDefined();
    expect(store.get(id, t0 + 58 * 60_000 + 31 * 60_000)).toBeUndefined();
    const second = store.create(user.id, t0);
    store.destroy(store.get(second.id, t0)!.idHash);
    expect(store.get(second.id, t0)).toBeUndefined();
    expect(store.get('not-a-session', t0)).toBeUndefined();
  });

  it('streams bus events over SSE to a signed-in user, without identity', async () => {
    const s = await login(h.app, ADMIN);
    const address = h.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/api/events`, {
      headers: { cookie: s.cookie },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes('"door_forced"') && Date.now() < deadline) {
      h.alarms.clear('door_forced', 'main');
      h.alarms.raise('door_forced', 'main');
      const chunk = await reader.read();
      text += decoder.decode(chunk.value ?? new Uint8Array());
    }
    expect(text).toMatch(
      /data: \{"type":"alarm","alarm":"door_forced","state":"(raised|cleared)","door":"main"/,
    );
    abort.abort();
    await reader.cancel().catch(() => undefined);
  });
});
