import { afterEach, describe, expect, it } from 'vitest';
import {
  type Health,
  type NotifyHelper,
  SystemdNotifier,
  startSystemdNotify,
  watchdogIntervalMs,
} from '../../src/ops/systemd-notify.ts';
import { waitFor } from '../helpers/ports.ts';
import { type NotifySocket, startNotifySocket } from './notify-socket.ts';

const sockets: NotifySocket[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const s of sockets.splice(0)) await s.close();
});

async function socket(abstract = false): Promise<NotifySocket> {
  const s = await startNotifySocket(abstract);
  sockets.push(s);
  return s;
}

describe('sd_notify without systemd', () => {
  it('is a no-op when NOTIFY_SOCKET is unset', () => {
    expect(SystemdNotifier.fromEnv({ env: {} })).toBeNull();
    expect(startSystemdNotify({ env: {}, health: () => ({ ok: true, checks: {} }) })).toBeNull();
  });

  it('takes the watchdog period from WATCHDOG_USEC (half of it) and honours WATCHDOG_PID', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeNull();
    expect(watchdogIntervalMs({}, 42)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }, 42)).toBeNull();
  });
});

describe.each<NotifyHelper>(['socat', 'python3', 'systemd-notify'])('sd_notify through %s', (helper) => {
  it('delivers READY, STATUS and STOPPING to a real datagram socket, in order', async () => {
    const s = await socket();
    const notifier = SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: s.path }, helper })!;
    cleanups.push(() => notifier.close());
    expect(notifier.helper).toBe(helper);
    notifier.ready('1 door(s) ready');
    await waitFor(() => s.assignments().includes('READY=1'), 5000, 'READY=1');
    notifier.status('line one\nline two');
    await waitFor(() => s.assignments().some((a) => a.startsWith('STATUS=line one')), 5000, 'STATUS');
    notifier.stopping();
    await waitFor(() => s.assignments().includes('STOPPING=1'), 5000, 'STOPPING=1');
    const got = s.assignments();
    expect(got).toContain('STATUS=1 door(s) ready');
    // A newline inside a value would start a bogus assignment; it is flattened.
    expect(got).toContain('STATUS=line one line two');
    if (helper !== 'systemd-notify') {
      // One long-lived helper keeps the order (systemd-notify starts a process per message).
      expect(got.indexOf('READY=1')).toBeLessThan(got.indexOf('STOPPING=1'));
    }
  });
});

describe('sd_notify to an abstract socket (@name)', () => {
  it.each<NotifyHelper>(['socat', 'python3'])('works through %s', async (helper) => {
    const s = await socket(true);
    const notifier = SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: s.path }, helper })!;
    cleanups.push(() => notifier.close());
    notifier.ready();
    await waitFor(() => s.assignments().includes('READY=1'), 5000, 'READY=1');
  });
});

describe('watchdog', () => {
  it('feeds only while healthy; says why it stops; resumes when healthy again', async () => {
    const s = await socket();
    let health: Health = { ok: true, checks: { store: true, doors: true, mqtt: false } };
    const notify = startSystemdNotify({
      env: { NOTIFY_SOCKET: s.path, WATCHDOG_USEC: '100000' },
      helper: 'socat',
      health: () => health,
    })!;
    cleanups.push(() => notify.close());
    notify.ready();
    // MQTT away degrades events, not the door: still fed.
    await waitFor(() => s.assignments().filter((a) => a === 'WATCHDOG=1').length >= 3, 5000, 'feeds');

    health = { ok: false, checks: { store: false, doors: true, mqtt: true } };
    const marker = await waitFor(
      () => s.assignments().indexOf('STATUS=watchdog withheld: unhealthy: store') + 1,
      5000,
      'withheld status',
    );
    await waitFor(() => notify.withheld >= 5, 5000, 'five withheld periods');
    // The helper is one ordered pipe: nothing fed after the status that announced the stop.
    expect(s.assignments().slice(marker)).not.toContain('WATCHDOG=1');

    health = { ok: true, checks: { store: true, doors: true, mqtt: true } };
    await waitFor(() => s.assignments().slice(marker).includes('WATCHDOG=1'), 5000, 'feeding again');
    expect(s.assignments().slice(marker)).toContain('STATUS=running');

    notify.stopping();
    await waitFor(() => s.assignments().includes('STOPPING=1'), 5000, 'STOPPING');
    const stopAt = s.assignments().indexOf('STOPPING=1');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.assignments().slice(stopAt)).not.toContain('WATCHDOG=1');
  });

  it('withholds a feed after the event loop was blocked, then feeds again', async () => {
    const s = await socket();
    const notify = startSystemdNotify({
      env: { NOTIFY_SOCKET: s.path, WATCHDOG_USEC: '100000' },
      helper: 'python3',
      health: () => ({ ok: true, checks: { store: true, doors: true } }),
      maxEventLoopLagMs: 300,
    })!;
    cleanups.push(() => notify.close());
    notify.ready();
    await waitFor(() => s.assignments().includes('WATCHDOG=1'), 5000, 'first feed');
    const until = Date.now() + 700;
    while (Date.now() < until) {
      // a handler that hangs the loop
    }
    const stalled = await waitFor(
      () =>
        s.assignments().findIndex((a) => a.startsWith('STATUS=watchdog withheld: event loop stalled')) + 1,
      5000,
      'stall reported',
    );
    await waitFor(() => s.assignments().slice(stalled).includes('WATCHDOG=1'), 5000, 'fed again');
  });

  it('a throwing health check counts as unhealthy', async () => {
    const s = await socket();
    const notify = startSystemdNotify({
      env: { NOTIFY_SOCKET: s.path, WATCHDOG_USEC: '100000' },
      helper: 'socat',
      health: () => {
        throw new Error('db closed');
      },
    })!;
    cleanups.push(() => notify.close());
    notify.ready();
    await waitFor(() => notify.withheld >= 2, 5000, 'withheld');
    await waitFor(
      () => s.assignments().some((a) => a.startsWith('STATUS=watchdog withheld')),
      5000,
      'status',
    );
    expect(s.assignments()).not.toContain('WATCHDOG=1');
  });
});
