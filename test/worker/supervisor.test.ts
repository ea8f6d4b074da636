import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { DoorPanel, DoorSnapshot } from '../../src/contract/door-panel.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDb } from '../../src/store/db.ts';
import { allowedCpus, parseCpuList } from '../../src/worker/cpus.ts';
import { WORKER_NICE, WorkerSupervisor } from '../../src/worker/supervisor.ts';
import { waitFor } from '../helpers/ports.ts';
import { processGone } from '../helpers/processes.ts';
import { tempDir } from '../helpers/tmp.ts';

class Panel implements DoorPanel {
  unlocks: number[] = [];
  constructor(readonly id: string) {}
  snapshot(): DoorSnapshot {
    return {
      id: this.id,
      name: this.id,
      mode: 'staffless',
      locked: true,
      open: false,
      held: false,
      fireActive: false,
      manualUnlockUntil: null,
      nextChange: null,
    };
  }
  manualUnlock(minutes: number): void {
    this.unlocks.push(minutes);
  }
  manualLock(): void {}
}

describe('WorkerSupervisor with a real worker process', () => {
  const dir = tempDir('supervisor-');
  let supervisor: WorkerSupervisor | undefined;
  afterEach(async () => {
    await supervisor?.stop();
  });

  const setUp = (pingTimeoutMs: number, workerCpus?: number[] | null) => {
    writeFileSync(join(dir.path, 'key'), 'supervisor-key-0123456789abcdef');
    const config = parseConfig(`
site: { id: sup, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "24/7", holidays_closed: false }
    reader: { path: /dev/null }
    hardware: { driver: sim }
store: { path: ${join(dir.path, 'store.sqlite')} }
web: { enabled: false }
log: { level: silent }
`);
    const db = openDb(config.store.path);
    const bus = new EventBus();
    const log = createLogger('silent');
    const alarms = new Alarms(db, bus, log);
    const panel = new Panel('front');
    supervisor = new WorkerSupervisor({
      config,
      bus,
      alarms,
      doors: [panel],
      nvr: () => undefined,
      log,
      logLevel: 'silent',
      pingTimeoutMs,
      retryMinMs: 100,
      maxBacklog: 50,
      ...(workerCpus === undefined ? {} : { workerCpus }),
    });
    return { db, bus, alarms, panel, supervisor };
  };

  it('a frozen worker never holds up the door process: events beyond the backlog are dropped, and it is killed and started again', async () => {
    const { bus, alarms, supervisor } = setUp(1500);
    await supervisor.start();
    const first = supervisor.pid!;
    expect(alarms.isActive('part_failed', 'worker')).toBe(false);
    expect(supervisor.running).toBe(true);
    process.kill(first, 'SIGSTOP');
    // The door keeps publishing; every publish returns at once and memory stays bounded.
    const started = performance.now();
    for (let i = 0; i < 5000; i++)
      bus.publish({ type: 'reader_rejected', reader: 'front', why: 'garbage', ts: new Date().toISOString() });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(supervisor.droppedEvents).toBeGreaterThan(4000);
    await waitFor(() => supervisor.pid !== undefined && supervisor.pid !== first, 15_000, 'a new worker');
    expect(processGone(first)).toBe(true);
    expect(alarms.isActive('part_failed', 'worker')).toBe(true);
    // Started, not ready yet: the door process checkpoints the WAL meanwhile (store/wal-fallback.ts).
    expect(supervisor.running).toBe(false);
    await waitFor(() => !alarms.isActive('part_failed', 'worker'), 15_000, 'the new worker to report ready');
    expect(supervisor.running).toBe(true);
  }, 40_000);

  it('runs at a lower CPU priority, runs a retention job over IPC, and stopping leaves no process behind', async () => {
    const { supervisor } = setUp(30_000);
    await supervisor.start();
    // The worker runs at a lower CPU priority than the door process.
    expect(getPriority(supervisor.pid!)).toBe(WORKER_NICE);
    expect(getPriority(process.pid)).toBeLessThan(WORKER_NICE);
    const result = await supervisor.runJob('pins');
    expect(result).toMatchObject({ pinFailures: 0 });
    const pid = supervisor.pid!;
    await supervisor.stop();
    expect(processGone(pid)).toBe(true);
  }, 40_000);

  /** Each thread's allowed CPUs: the affinity is per thread, and all of the worker's must have it. */
  const threadCpus = (pid: number): number[][] =>
    readdirSync(`/proc/${pid}/task`).map((tid) =>
      parseCpuList(
        /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!,
      ),
    );

  it.skipIf(allowedCpus().length < 2)(
    'keeps every thread of the worker off the first CPU, which is left to the door',
    async () => {
      const { supervisor } = setUp(30_000);
      await supervisor.start();
      const threads = threadCpus(supervisor.pid!);
      expect(threads.length).toBeGreaterThan(1);
      for (const cpus of threads) expect(cpus).toEqual(allowedCpus().slice(1));
      expect(allowedCpus()).toContain(0);
      // Still the worker itself (taskset execs Node) and still at the lower priority.
      expect(readFileSync(`/proc/${supervisor.pid}/cmdline`, 'utf8')).toContain('worker/main');
      expect(getPriority(supervisor.pid!)).toBe(WORKER_NICE);
      expect(await supervisor.runJob('pins')).toMatchObject({ pinFailures: 0 });
    },
    40_000,
  );

  it('leaves a signal sent to the whole group (Ctrl-C, timeout) to the door process: no false alarm', async () => {
    const { alarms, supervisor } = setUp(30_000);
    await supervisor.start();
    const pid = supervisor.pid!;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.kill(pid, signal);
    await new Promise((r) => setTimeout(r, 500));
    expect(supervisor.pid).toBe(pid);
    expect(alarms.isActive('part_failed', 'worker')).toBe(false);
    expect(await supervisor.runJob('pins')).toMatchObject({ pinFailures: 0 });
    await supervisor.stop();
    expect(processGone(pid)).toBe(true);
  }, 40_000);

  it('starts no worker when stopped while it was choosing the CPUs', async () => {
    const { supervisor } = setUp(30_000);
    const starting = supervisor.start();
    await supervisor.stop();
    await starting;
    expect(supervisor.pid).toBeUndefined();
    expect(supervisor.starts).toBe(0);
  });

  it('runs on any CPU when told not to pin it', async () => {
    const { supervisor } = setUp(30_000, null);
    await supervisor.start();
    for (const cpus of threadCpus(supervisor.pid!)) expect(cpus).toEqual(allowedCpus());
  }, 40_000);
});
