import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_STAFFLESS } from '../../src/cli/demo.ts';
import { buildDoorSchedules } from '../../src/schedule/planner.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The README's first command, as a visitor runs it: start, swipe on the printed pty, read the verdicts. */
describe('npm run demo', () => {
  const dir = tempDir('demo-');
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    dir.cleanup();
  });

  it('prints how to swipe, decides swipes in plain words and answers /healthz', async () => {
    const [mqttPort, opsPort, webPort] = [await freePort(), await freePort(), await freePort()];
    child = spawn(process.execPath, ['bin/dorvakt.mjs', 'demo'], {
      env: {
        ...process.env,
        DORVAKT_DEMO_DIR: dir.path,
        DORVAKT_DEMO_MQTT_PORT: String(mqttPort),
        DORVAKT_DEMO_OPS_PORT: String(opsPort),
        DORVAKT_DEMO_WEB_PORT: String(webPort),
        // The demo's quiet hour (03:00-04:00 Oslo) would refuse every swipe of a run at night.
        DORVAKT_DEMO_STAFFLESS: '24/7',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const ptyPath = await waitFor(
      () => /echo 10000001 > (\S+)/.exec(out)?.[1],
      30_000,
      'the swipe instructions',
    );
    expect(out).toContain('embedded broker (aedes)');
    expect(out).toContain('Door mode: staffless (schedule: staffless 24/7)');
    writeFileSync(ptyPath, '10000001\r\n');
    await waitFor(() => out.includes('OPEN  Welcome in (allow'), 10_000, 'a granted swipe');
    writeFileSync(ptyPath, '10000002\r\n');
    await waitFor(() => out.includes('(no_camera_consent'), 10_000, 'a refused swipe');
    writeFileSync(ptyPath, '10000007\r\n');
    await waitFor(
      () => out.split('OPEN  Welcome in (allow').length === 3,
      10_000,
      'the æøå patron over cp850 SIP2',
    );
    child.stdin!.write('ils down\n');
    await waitFor(() => out.includes('(ils down)'), 5_000, 'the command echo');
    writeFileSync(ptyPath, '10000006\r\n'); // not cached: only answers that allowed are
    await waitFor(
      () => out.includes('(ils_unavailable'),
      15_000,
      'a refusal while the library system is down',
    );
    // The circuit opens after a few failures in a row (ils.circuit.failure_threshold): then the alarm rises.
    for (let i = 0; i < 3 && !out.includes('alarm ils_offline raised'); i++) {
      writeFileSync(ptyPath, '10000006\r\n');
      await waitFor(() => out.split('(ils_unavailable').length > i + 2, 15_000, 'another refusal');
    }
    await waitFor(() => out.includes('alarm ils_offline raised'), 15_000, 'the ils_offline alarm');
    child.stdin!.write('ils up\n');
    writeFileSync(ptyPath, 'x\u0001y\r\n');
    await waitFor(() => out.includes('dropped a malformed frame'), 10_000, 'a dropped frame');
    const dashboard = await fetch(`http://127.0.0.1:${webPort}/`, { redirect: 'manual' });
    expect(dashboard.status).toBe(303); // the dashboard wants a login
    // The terminal is for people: the worker process logs to the demo's log file, not here.
    expect(out).not.toMatch(/^\{"level"/m);
    expect(out).toMatch(/Dashboard: http:\/\/127\.0\.0\.1:\d+ +\(user admin, password \S+;/);
    const health = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
    expect(health.status).toBe(200);
    const state = (await (await fetch(`http://127.0.0.1:${opsPort}/api/state`)).json()) as {
      doors: { id: string }[];
    };
    expect(state.doors.map((d) => d.id)).toEqual(['main']);
    expect(out).not.toMatch(/[0-9a-f]{64}/); // no card hash printed
  }, 60_000);

  it('keeps its quiet hour by default, and the test schedule is open at 03:30 Oslo time', () => {
    const site = { timezone: 'Europe/Oslo', country: 'NO' };
    const door = (staffless: string) =>
      buildDoorSchedules(
        [
          {
            id: 'main',
            schedule: {
              staffed: '',
              staffless,
              holidays_closed: false,
              closing_soon_minutes: 10,
              exceptions: [],
            },
          },
        ],
        site,
      ).get('main')!;
    const night = new Date('2026-11-30T03:30:00+01:00');
    expect(door(DEMO_STAFFLESS).stateAt(night)).toBe('closed');
    expect(door(DEMO_STAFFLESS).stateAt(new Date('2026-11-30T04:30:00+01:00'))).toBe('staffless');
    expect(door('24/7').stateAt(night)).toBe('staffless');
  });
});
