import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_STAFFLESS } from '../../src/cli/demo.ts';
import { buildDoorSchedules } from '../../src/schedule/planner.ts';
import { localDate } from '../../src/time/zone.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The Oslo date two days from now in opening_hours words, e.g. `2026 Dec 02`. */
function dayAfterTomorrow(): string {
  const [y, m, d] = localDate(new Date(Date.now() + 2 * 86_400_000), 'Europe/Oslo')
    .split('-')
    .map(Number);
  return `${y} ${MONTHS[m! - 1]} ${String(d).padStart(2, '0')}`;
}

/** The README's first command, as a visitor runs it: start, swipe on the printed pty, read the verdicts. */
describe('npm run demo', () => {
  const dir = tempDir('demo-');
  let child: ChildProcess | undefined;
  let closedDay = '';
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
    // `aplay` replaced by a recorder that notes what it is asked to play.
    mkdirSync(join(dir.path, 'bin'));
    writeFileSync(
      join(dir.path, 'bin', 'aplay'),
      `#!/bin/sh\necho "$@" >> "${join(dir.path, 'played.log')}"\n`,
    );
    chmodSync(join(dir.path, 'bin', 'aplay'), 0o755);
    // Taken once: a run that crosses midnight would otherwise expect another day than it gave the demo.
    closedDay = dayAfterTomorrow();
    child = spawn(process.execPath, ['bin/dorvakt.mjs', 'demo'], {
      env: {
        ...process.env,
        PATH: `${join(dir.path, 'bin')}:${process.env.PATH ?? ''}`,
        DORVAKT_DEMO_DIR: dir.path,
        DORVAKT_DEMO_MQTT_PORT: String(mqttPort),
        DORVAKT_DEMO_OPS_PORT: String(opsPort),
        DORVAKT_DEMO_WEB_PORT: String(webPort),
        // The demo's quiet hour (03:00-04:00 Oslo) would refuse every swipe of a run at night.
        // Closed the day after tomorrow, so there is a closing ahead to announce.
        DORVAKT_DEMO_STAFFLESS: `Mo-Su 00:00-24:00; ${closedDay} off`,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const ptyPath = await waitFor(
      () => /echo 10000001 > (\S+)/.exec(out)?.[1],
      // A hang guard: the start is slower under CI's libfaketime run (.ci/clock).
      60_000,
      'the swipe instructions',
    );
    expect(out).toContain('embedded broker (aedes)');
    expect(out).toContain(`Door mode: staffless (schedule: staffless Mo-Su 00:00-24:00; ${closedDay} off)`);
    // The shipped recordings: printed, and played with the system player.
    child.stdin!.write('announce\n');
    await waitFor(() => out.includes('ANNOUNCE (en)'), 10_000, 'the announcement');
    expect(out).toContain(
      'ANNOUNCE (nb): Biblioteket stenger om 15 minutter. Vennligst avslutt besøket. [plays announcements/nb/closing-15.wav]',
    );
    const played = () => {
      try {
        return readFileSync(join(dir.path, 'played.log'), 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    };
    await waitFor(() => played().length === 2, 10_000, 'two plays');
    expect(played()).toEqual([
      `-q ${join(process.cwd(), 'announcements', 'nb', 'closing-15.wav')}`,
      `-q ${join(process.cwd(), 'announcements', 'en', 'closing-15.wav')}`,
    ]);
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
  }, 120_000);

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
