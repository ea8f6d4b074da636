/**
 * The door process's side of the worker: forks it, feeds it events and door state, answers its calls, and
 * starts it again with backoff when it dies or stops answering. The worker can never delay a swipe: every
 * message to it is fire-and-forget, and a backlog it does not drain is dropped (its state is resent).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Alarms } from '../alarms/alarms.ts';
import type { DorvaktConfig } from '../config/types.ts';
import type { CardCheckAccess } from '../contract/card-check.ts';
import type { DoorPanel } from '../contract/door-panel.ts';
import type { QueuedNvrAdminAccess } from '../contract/nvr-admin.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { RetentionJob, RetentionRunResult } from '../retention/jobs.ts';
import {
  CALLABLE,
  FLEET_RULES_REJECT_WHYS,
  type FromWorker,
  type ToWorker,
  WORKER_ALARMS,
  WORKER_PARTS,
  type WorkerState,
} from './protocol.ts';
import { allowedCpus, usableTaskset, workerCpus } from './cpus.ts';

export const WORKER_PART = 'worker';
/** Nice value of the worker process (the door process keeps 0). */
export const WORKER_NICE = 10;

export interface WorkerSupervisorOptions {
  config: DorvaktConfig;
  bus: EventBus;
  alarms: Alarms;
  doors: DoorPanel[];
  /** The NVR controller while it runs (it may be retrying its start). */
  nvr: () => QueuedNvrAdminAccess | undefined;
  /** Re-reads the emergency mode from the store and publishes a change (src/emergency/watcher.ts). */
  emergency?: { refresh(): unknown } | undefined;
  /** The desk's card check (`access.explain`). */
  access?: CardCheckAccess | undefined;
  /**
   * The fleet's rules, received and applied in the worker: `changed` merges the checked exceptions it stored
   * into the schedule again; `rejected` counts a refusal in /metrics.
   */
  fleetRules?: { changed(version: number): void; rejected(why: string): void } | undefined;
  /** People inside now (src/occupancy), mirrored to the dashboard; absent without a counter. */
  insideNow?: (() => number | null) | undefined;
  log: Logger;
  logLevel: string;
  /** Append the worker's log here instead of stdout. */
  logFile?: string | undefined;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** A worker that answers no ping for this long is killed and started again. */
  pingTimeoutMs?: number;
  /** A worker that has not reported ready this long after its start is killed and started again. */
  startTimeoutMs?: number;
  /** Messages sent but not yet taken by the worker before events are dropped. */
  maxBacklog?: number;
  /** CPUs the worker runs on: by default all of the door's but the first (src/worker/cpus.ts); null: any. */
  workerCpus?: number[] | null;
}

const inSource = import.meta.url.endsWith('.ts');
const workerEntry = fileURLToPath(new URL(`./main.${inSource ? 'ts' : 'js'}`, import.meta.url));
// A checkout runs TypeScript through tsx; the built service (dist/) needs no loader. The door process's
// own Node flags (small heap settings) are not passed on: the worker is the one that may grow.
const workerExecArgv = inSource
  ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
  : [];

export class WorkerSupervisor {
  private child: ChildProcess | undefined;
  /** The child that last reported ready. */
  private readyChild: ChildProcess | undefined;
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingSentAt: number | null = null;
  private pingId = 0;
  private backlog = 0;
  private stateDirty = false;
  private unsubscribe: (() => void) | undefined;
  private unsubscribeAlarms: (() => void) | undefined;
  private firstReady: { promise: Promise<void>; resolve: () => void };
  /** Events dropped because the worker did not keep up (it then gets the whole state again). */
  droppedEvents = 0;
  /** Calls refused: unknown target or method, or a bad door. */
  refusedCalls = 0;
  /** The dashboard's address while it listens. */
  webUrl: string | undefined;
  /** Times the worker was started (tests and metrics). */
  starts = 0;
  private jobId = 0;
  /** taskset and the worker's CPUs, when the worker is kept off the door's CPU. */
  private pinning: { taskset: string; cpus: number[] } | undefined;
  private readonly jobs = new Map<
    number,
    { resolve: (r: RetentionRunResult | undefined) => void; reject: (e: Error) => void }
  >();

  constructor(private readonly options: WorkerSupervisorOptions) {
    let resolve = () => {};
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.firstReady = { promise, resolve };
  }

  /** A worker runs and has reported ready (it then checkpoints the store's WAL, among its jobs). */
  get running(): boolean {
    return this.child !== undefined && this.readyChild === this.child;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the worker; resolves when it first reports ready or failed, or after `waitMs`. */
  async start(waitMs = 15_000): Promise<void> {
    this.unsubscribe = this.options.bus.subscribe((event) => {
      if (
        event.type === 'door' ||
        event.type === 'alarm' ||
        event.type === 'mode' ||
        event.type === 'state' ||
        event.type === 'output' ||
        event.type === 'occupancy'
      )
        this.sendState();
      this.send({ t: 'event', event }, true);
    });
    // An acknowledgement is no bus event, yet changes what the dashboards list.
    this.unsubscribeAlarms = this.options.alarms.onChange(() => this.sendState());
    await this.choosePinning();
    // Stopped while taskset was tried: no worker may start after stop().
    if (this.stopped) return;
    this.spawn();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.firstReady.promise,
      new Promise<void>((r) => {
        timer = setTimeout(r, waitMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private async choosePinning(): Promise<void> {
    const cpus = this.options.workerCpus === undefined ? workerCpus(allowedCpus()) : this.options.workerCpus;
    if (!cpus || cpus.length === 0) return;
    const taskset = await usableTaskset(cpus);
    if ('why' in taskset) {
      this.options.log.warn(
        { part: WORKER_PART, err: taskset.why },
        'the worker shares the door CPU (its affinity cannot be set)',
      );
      return;
    }
    this.pinning = { taskset: taskset.path, cpus };
    this.options.log.info({ part: WORKER_PART, cpus: cpus.join(',') }, 'the worker runs off the door CPU');
  }

  private state(): WorkerState {
    const state: WorkerState = {
      doors: this.options.doors.map((d) => d.snapshot()),
      alarms: this.options.alarms.unresolved(),
    };
    if (this.options.insideNow) state.inside = this.options.insideNow();
    return state;
  }

  private spawn(): void {
    const { log } = this.options;
    this.starts++;
    this.backlog = 0;
    let child: ChildProcess;
    try {
      const options = {
        serialization: 'json' as const,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'] as ('ignore' | 'inherit' | 'ipc')[],
      };
      // Through taskset the affinity is set before Node starts, so every thread of the worker inherits it.
      child = this.pinning
        ? spawn(
            this.pinning.taskset,
            ['-c', this.pinning.cpus.join(','), process.execPath, ...workerExecArgv, workerEntry],
            options,
          )
        : fork(workerEntry, [], { ...options, execArgv: workerExecArgv });
    } catch (error) {
      this.failed(`could not start: ${(error as Error).message}`);
      return;
    }
    this.child = child;
    // The door process must win the CPU: on two cores a busy worker would otherwise slow every swipe.
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, WORKER_NICE);
      } catch (error) {
        log.warn({ err: (error as Error).message }, 'could not lower the worker priority');
      }
    }
    child.on('error', (error) => log.warn({ err: error.message }, 'worker channel error'));
    child.on('message', (message: FromWorker) => this.onMessage(child, message));
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.webUrl = undefined;
      clearTimeout(this.pingTimer);
      if (this.stopped) return;
      this.failed(`exited (${signal ?? `code ${code}`})`);
    });
    this.send({
      t: 'init',
      config: this.options.config,
      logLevel: this.options.logLevel,
      logFile: this.options.logFile,
      nvr: this.options.config.nvr.enabled,
      state: this.state(),
    });
    // Until it reports ready, the worker has the start timeout; pings begin after.
    this.pingSentAt = Date.now();
    this.pingTimer = setTimeout(() => {
      if (this.child === child && this.pingSentAt !== null) {
        this.options.log.error({ part: WORKER_PART }, 'worker did not report ready; killing it');
        child.kill('SIGKILL');
      }
    }, this.options.startTimeoutMs ?? 60_000);
    this.pingTimer.unref();
  }

  private startPinging(child: ChildProcess): void {
    clearTimeout(this.pingTimer);
    this.pingSentAt = null;
    this.pingTimer = setInterval(() => this.ping(child), Math.min(5000, this.pingTimeout / 3));
    this.pingTimer.unref();
  }

  private get pingTimeout(): number {
    return this.options.pingTimeoutMs ?? 300_000;
  }

  private ping(child: ChildProcess): void {
    if (this.pingSentAt !== null && Date.now() - this.pingSentAt > this.pingTimeout) {
      this.options.log.error({ part: WORKER_PART }, 'worker answers no ping; killing it');
      child.kill('SIGKILL');
      return;
    }
    if (this.pingSentAt === null) {
      this.pingSentAt = Date.now();
      this.send({ t: 'ping', id: ++this.pingId });
    }
  }

  private failed(why: string): void {
    const { alarms, log } = this.options;
    this.failures++;
    const delay = Math.min(
      (this.options.retryMinMs ?? 1000) * 2 ** (this.failures - 1),
      this.options.retryMaxMs ?? 60_000,
    );
    log.error({ part: WORKER_PART, err: why, retryMs: delay }, 'worker failed; the door runs without it');
    alarms.raise('part_failed', WORKER_PART, why.slice(0, 300));
    this.firstReady.resolve();
    if (this.stopped) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) this.spawn();
    }, delay);
    this.restartTimer.unref();
  }

  private onMessage(child: ChildProcess, message: FromWorker): void {
    if (this.child !== child || !message || typeof message !== 'object') return;
    switch (message.t) {
      case 'ready':
        this.readyChild = child;
        this.failures = 0;
        this.webUrl = message.webUrl ?? undefined;
        this.options.alarms.clear('part_failed', WORKER_PART);
        this.options.log.info({ pid: child.pid, webUrl: message.webUrl }, 'worker ready');
        this.startPinging(child);
        this.firstReady.resolve();
        return;
      case 'web':
        this.webUrl = message.url ?? undefined;
        return;
      case 'pong':
        this.pingSentAt = null;
        return;
      case 'ran': {
        const pending = this.jobs.get(message.id);
        this.jobs.delete(message.id);
        if (message.error) pending?.reject(new Error(message.error));
        else pending?.resolve(message.result ?? undefined);
        return;
      }
      case 'alarm':
        this.onAlarm(message);
        return;
      case 'call':
        void this.onCall(message);
        return;
      case 'fleet_rules':
        this.onFleetRules(message);
        return;
    }
  }

  private onFleetRules(message: Extract<FromWorker, { t: 'fleet_rules' }>): void {
    const rules = this.options.fleetRules;
    try {
      if (message.event === 'changed' && Number.isSafeInteger(message.version))
        rules?.changed(message.version);
      else if (message.event === 'rejected' && FLEET_RULES_REJECT_WHYS.includes(message.why))
        rules?.rejected(message.why);
      else this.refusedCalls++;
    } catch (error) {
      this.options.log.error({ err: (error as Error).message }, 'fleet rules: the door side failed');
    }
  }

  /** The worker reports its own parts failing, and the site-wide alarms its parts own; nothing else. */
  private onAlarm(message: Extract<FromWorker, { t: 'alarm' }>): void {
    const { alarms } = this.options;
    if (WORKER_ALARMS.includes(message.code) && message.door === '') {
      if (message.action === 'raise') alarms.raise(message.code, '', message.detail);
      else alarms.clear(message.code, '');
      return;
    }
    if (message.code !== 'part_failed' || !WORKER_PARTS.includes(message.door)) {
      this.refusedCalls++;
      return;
    }
    if (message.action === 'raise') alarms.raise('part_failed', message.door, message.detail);
    else alarms.clear('part_failed', message.door);
  }

  private async onCall(message: Extract<FromWorker, { t: 'call' }>): Promise<void> {
    const reply = (value: ToWorker) => this.send(value);
    try {
      if (!CALLABLE[message.target]?.includes(message.method) || !Array.isArray(message.args)) {
        throw Object.assign(new Error(`no such call ${message.target}.${message.method}`), {
          name: 'RefusedCall',
        });
      }
      const target = this.target(message);
      const fn = (target as unknown as Record<string, (...args: unknown[]) => unknown>)[message.method]!;
      const value = await fn.apply(target, message.args);
      if (message.target === 'door' || message.target === 'nvr') this.sendState();
      reply({ t: 'reply', id: message.id, ok: true, value: value ?? null });
    } catch (error) {
      if ((error as Error).name === 'RefusedCall') this.refusedCalls++;
      const { name, message: text } = error as Error;
      // A refusal's detail (plain data) lets the page say it in the user's words.
      const detail = (error as { detail?: unknown }).detail;
      reply({
        t: 'reply',
        id: message.id,
        ok: false,
        error: { name: name ?? 'Error', message: text ?? String(error), ...(detail ? { detail } : {}) },
      });
    }
  }

  private target(message: Extract<FromWorker, { t: 'call' }>): object {
    const refuse = (why: string) => Object.assign(new Error(why), { name: 'RefusedCall' });
    if (message.target === 'alarms') return this.options.alarms;
    if (message.target === 'emergency') {
      if (!this.options.emergency) throw refuse('no emergency mode here');
      return this.options.emergency;
    }
    if (message.target === 'access') {
      if (!this.options.access) throw refuse('no card check here');
      return this.options.access;
    }
    if (message.target === 'nvr') {
      const nvr = this.options.nvr();
      if (!nvr)
        throw refuse(
          this.options.config.nvr.enabled
            ? 'camera retention is not running'
            : 'camera retention is not configured',
        );
      return nvr;
    }
    const door = this.options.doors.find((d) => d.id === message.door);
    if (!door) throw refuse(`no such door ${String(message.door)}`);
    return door;
  }

  /** Door state goes out at most once per turn of the event loop, however many events arrive. */
  private sendState(): void {
    if (this.stateDirty) return;
    this.stateDirty = true;
    setImmediate(() => {
      this.stateDirty = false;
      this.send({ t: 'state', state: this.state() });
    });
  }

  private send(message: ToWorker, droppable = false): void {
    const child = this.child;
    if (!child?.connected) return;
    if (droppable && this.backlog >= (this.options.maxBacklog ?? 1000)) {
      this.droppedEvents++;
      return;
    }
    this.backlog++;
    try {
      child.send(message, (error) => {
        this.backlog = Math.max(0, this.backlog - 1);
        if (error) this.options.log.debug({ err: error.message }, 'worker message not sent');
      });
    } catch (error) {
      this.backlog = Math.max(0, this.backlog - 1);
      this.options.log.debug({ err: (error as Error).message }, 'worker message not sent');
    }
  }

  /**
   * Runs a retention job in the worker now; resolves with its result (undefined when that job was already
   * running). Rejects when no worker runs or it dies first.
   */
  runJob(job: RetentionJob): Promise<RetentionRunResult | undefined> {
    const child = this.child;
    if (!child?.connected) return Promise.reject(new Error('the worker is not running'));
    const id = ++this.jobId;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      child.once('exit', () => {
        if (this.jobs.delete(id)) reject(new Error('the worker exited during the job'));
      });
      this.send({ t: 'run', id, job });
    });
  }

  /** Asks the worker to stop, waits up to `timeoutMs`, then kills it. Never throws. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribeAlarms?.();
    clearTimeout(this.restartTimer);
    clearTimeout(this.pingTimer);
    this.firstReady.resolve();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.send({ t: 'stop' });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), timeoutMs);
    });
    if (await Promise.race([exited.then(() => false), timedOut])) {
      child.kill('SIGKILL');
      await exited;
    }
    clearTimeout(timer);
    this.child = undefined;
  }
}
