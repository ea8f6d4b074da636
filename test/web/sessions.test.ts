import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionStore } from '../../src/web/sessions.ts';
import { findUserByName } from '../../src/web/users.ts';
import { ADMIN, type Harness, type Login, login, STAFF, startHarness } from './fixtures.ts';

type StreamReader = ReadableStreamDefaultReader<Uint8Array>;

/** Opens /api/events over real HTTP and waits for its first bytes. */
async function openStream(h: Harness, s: Login): Promise<StreamReader> {
  const address = h.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const res = await fetch(`http://127.0.0.1:${port}/api/events`, { headers: { cookie: s.cookie } });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read();
  return reader;
}

/** 'ended' once the server ends the stream; 'open' if it is still open after a generous wait. */
async function streamEnds(reader: StreamReader, waitMs = 5000): Promise<'ended' | 'open'> {
  let timer: NodeJS.Timeout | undefined;
  const open = new Promise<'open'>((resolve) => {
    timer = setTimeout(() => resolve('open'), waitMs);
  });
  const ended = (async () => {
    for (;;) if ((await reader.read()).done) return 'ended' as const;
  })();
  try {
    return await Promise.race([ended, open]);
  } finally {
    clearTimeout(timer);
    ended.catch(() => undefined);
  }
}

/** Reads until an event arrives (the stream is alive), raising alarms to produce one. */
async function receivesEvent(h: Harness, reader: StreamReader): Promise<boolean> {
  const decoder = new TextDecoder();
  let text = '';
  for (let i = 0; i < 20 && !text.includes('data: '); i++) {
    h.alarms.clear('door_forced', 'main');
    h.alarms.raise('door_forced', 'main');
    const chunk = await reader.read();
    if (chunk.done) return false;
    text += decoder.decode(chunk.value);
  }
  return text.includes('data: ');
}

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

  it("logging out ends that session's open stream at once; another session's stream goes on", async () => {
    const staff = await login(h.app, STAFF);
    const admin = await login(h.app, ADMIN);
    const staffStream = await openStream(h, staff);
    const adminStream = await openStream(h, admin);
    const out = await h.app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie: staff.cookie, 'x-csrf-token': staff.csrf },
    });
    expect(out.statusCode).toBe(303);
    expect(await streamEnds(staffStream)).toBe('ended');
    expect(await receivesEvent(h, adminStream)).toBe(true);
    await adminStream.cancel().catch(() => undefined);
  });

  it("an admin disabling a user ends that user's open stream at once", async () => {
    const staff = await login(h.app, STAFF);
    const admin = await login(h.app, ADMIN);
    const stream = await openStream(h, staff);
    const user = findUserByName(h.db, STAFF.name)!;
    const res = await h.app.inject({
      method: 'POST',
      url: `/users/${user.id}/disable`,
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf },
    });
    expect(res.statusCode).toBe(303);
    try {
      expect(await streamEnds(stream)).toBe('ended');
    } finally {
      await h.app.inject({
        method: 'POST',
        url: `/users/${user.id}/enable`,
        headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf },
      });
    }
  });

  it('a watched session ends when it expires (its expiry sliding while in use), or when a recheck finds it gone', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const store = new SessionStore(h.db, 5 * 60_000);
      const user = findUserByName(h.db, ADMIN.name)!;
      const { id } = store.create(user.id);
      const idHash = store.get(id)!.idHash;
      let ended = 0;
      store.watch(idHash, () => ended++);
      vi.advanceTimersByTime(2 * 60_000);
      expect(store.get(id)).toBeDefined(); // slides the expiry to 7 minutes
      vi.advanceTimersByTime(4 * 60_000);
      expect(ended).toBe(0);
      vi.advanceTimersByTime(2 * 60_000);
      expect(ended).toBe(1);

      // Logout (destroy) ends it at once, with no recheck.
      const third = store.create(user.id);
      const thirdHash = store.get(third.id)!.idHash;
      let thirdEnded = 0;
      store.watch(thirdHash, () => thirdEnded++);
      store.destroy(thirdHash);
      expect(thirdEnded).toBe(1);

      // Gone behind this process's back (the CLI): the next recheck ends it.
      const other = store.create(user.id);
      const otherHash = store.get(other.id)!.idHash;
      let otherEnded = 0;
      store.watch(otherHash, () => otherEnded++);
      h.db.prepare('DELETE FROM web_sessions WHERE id_hash = ?').run(otherHash);
      expect(otherEnded).toBe(0);
      store.recheck();
      store.recheck();
      expect(otherEnded).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
