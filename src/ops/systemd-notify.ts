/**
 * sd_notify for a Type=notify unit: READY=1, STATUS=…, WATCHDOG=1 (only while healthy), STOPPING=1.
 *
 * Node cannot send a unix datagram, so one long-lived helper child (socat, else python3) reads
 * assignments on stdin and forwards them to $NOTIFY_SOCKET. Being long-lived matters: systemd looks up
 * the sender's cgroup when the datagram arrives, and a short-lived `systemd-notify` may already have
 * exited by then (the known race), so its messages get dropped. The unit needs NotifyAccess=all.
 * `systemd-notify --pid` per message is the last resort. Without NOTIFY_SOCKET everything is a no-op.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.ts';

export type NotifyHelper = 'socat' | 'python3' | 'systemd-notify';

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger | undefined;
  /** Which helper to use; default: the first of socat, python3, systemd-notify found on PATH. */
  helper?: NotifyHelper | undefined;
}

const PYTHON_FORWARDER = [
  'import socket, sys',
  'addr = sys.argv[1]',
  "addr = '\\0' + addr[1:] if addr.startswith('@') else addr",
  's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
  'for line in sys.stdin:',
  '    line = line.rstrip("\\n")',
  '    if line:',
  '        try: s.sendto(line.encode(), addr)',
  '        except OSError as e: print(e, file=sys.stderr, flush=True)',
].join('\n');

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Sends sd_notify assignments to $NOTIFY_SOCKET through a helper process. */
export class SystemdNotifier {
  private child: ChildProcess | null = null;
  private closed = false;
  private warned = false;

  private constructor(
    readonly socket: string,
    readonly helper: NotifyHelper,
    private readonly log: Logger | undefined,
  ) {}

  /** Null when not started by systemd with Type=notify (NOTIFY_SOCKET unset). */
  static fromEnv(options: NotifierOptions = {}): SystemdNotifier | null {
    const socket = (options.env ?? process.env).NOTIFY_SOCKET;
    if (!socket) return null;
    const helper =
      options.helper ??
      (['socat', 'python3', 'systemd-notify'] as const).find((h) => onPath(h)) ??
      'systemd-notify';
    return new SystemdNotifier(socket, helper, options.log);
  }

  /** Sends one message made of `KEY=value` assignments (values must not contain newlines). */
  send(fields: Record<string, string | number>): void {
    if (this.closed) return;
    const lines = Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/[\r\n]+/g, ' ')}`);
    if (this.helper === 'systemd-notify') {
      this.sendByCli(lines);
      return;
    }
    const child = this.forwarder();
    if (!child?.stdin?.writable) return;
    // One write per message: pipe writes this small are atomic, so a message is never split.
    child.stdin.write(`${lines.join('\n')}\n`);
  }

  ready(status?: string): void {
    this.send(status ? { READY: 1, STATUS: status } : { READY: 1 });
  }

  status(text: string): void {
    this.send({ STATUS: text });
  }

  watchdog(): void {
    this.send({ WATCHDOG: 1 });
  }

  stopping(status = 'stopping'): void {
    this.send({ STOPPING: 1, STATUS: status });
  }

  /** Lets the helper flush what it has and exit. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGTERM'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private forwarder(): ChildProcess | null {
    if (this.child) return this.child;
    const abstract = this.socket.startsWith('@');
    const [command, args] =
      this.helper === 'socat'
        ? [
            'socat',
            [
              '-u',
              'STDIN',
              abstract ? `ABSTRACT-SENDTO:${this.socket.slice(1)}` : `UNIX-SENDTO:${this.socket}`,
            ],
          ]
        : ['python3', ['-c', PYTHON_FORWARDER, this.socket]];
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin?.on('error', () => {}); // the exit handler reports it
    child.stderr?.on('data', (d: Buffer) => this.warn(`${command}: ${d.toString().trim()}`));
    child.once('error', (error) => this.warn(`${command}: ${error.message}`));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null; // the next message starts a new one
      if (!this.closed) this.warn(`${command} exited (${signal ?? code}); restarting on the next message`);
    });
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    this.child = child;
    return child;
  }

  private sendByCli(lines: string[]): void {
    const child = spawn('systemd-notify', [`--pid=${process.pid}`, ...lines], {
      stdio: 'ignore',
      env: { ...process.env, NOTIFY_SOCKET: this.socket },
    });
    child.once('error', (error) => this.warn(`systemd-notify: ${error.message}`));
    child.unref();
  }

  private warn(message: string): void {
    // Once loud, then quiet: a missing helper must not flood the journal every watchdog period.
    if (this.warned) {
      this.log?.debug({ notify: this.socket }, message);
      return;
    }
    this.warned = true;
    this.log?.warn({ notify: this.socket }, message);
  }
}

/**
 * How often to send WATCHDOG=1: half of WATCHDOG_USEC, as sd_watchdog_enabled() advises. Null when the
 * unit has no watchdog, or WATCHDOG_PID names another process (the variables were inherited).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

export interface Health {
  ok: boolean;
  checks: Record<string, boolean>;
}

export interface SystemdNotifyOptions extends NotifierOptions {
  /** The door loop's health (App.healthy()): the watchdog is fed only while ok. */
  health: () => Health;
  /** Withhold one feed when the event loop was blocked longer than this since the last one. */
  maxEventLoopLagMs?: number | undefined;
  /** Override the watchdog interval (tests); default from WATCHDOG_USEC. */
  watchdogMs?: number | undefined;
}

export interface SystemdNotify {
  readonly notifier: SystemdNotifier;
  /** Feeds withheld so far (unhealthy or stalled). */
  readonly withheld: number;
  ready(status?: string): void;
  status(text: string): void;
  /** STOPPING=1 and no more feeding. */
  stopping(status?: string): void;
  close(): Promise<void>;
}

/**
 * READY/STATUS/STOPPING plus a watchdog fed only while `health()` is ok and the event loop kept up.
 * Returns null without NOTIFY_SOCKET, so callers simply do `notify?.ready()`.
 */
export function startSystemdNotify(options: SystemdNotifyOptions): SystemdNotify | null {
  const notifier = SystemdNotifier.fromEnv(options);
  if (!notifier) return null;
  const log = options.log;
  const env = options.env ?? process.env;
  const intervalMs = options.watchdogMs ?? watchdogIntervalMs(env);
  const maxLagMs = options.maxEventLoopLagMs ?? Math.max(1000, (intervalMs ?? 0) * 0.8);
  let withheld = 0;
  let lastProblem: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  const lag = monitorEventLoopDelay({ resolution: 20 });

  let lastTickAt = performance.now();
  const tick = () => {
    const health = safeHealth(options.health);
    // Two views of a blocked loop: the histogram's worst delay, and how late this tick itself is.
    const now = performance.now();
    const lateMs = intervalMs === null ? 0 : now - lastTickAt - intervalMs;
    lastTickAt = now;
    const stalledMs = Math.max(lag.max / 1e6, lateMs);
    lag.reset();
    const failing = Object.entries(health.checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name);
    let problem: string | null = null;
    if (!health.ok) problem = `unhealthy: ${failing.join(', ') || 'health check failed'}`;
    else if (stalledMs > maxLagMs) problem = `event loop stalled ${Math.round(stalledMs)} ms`;
    if (problem) {
      withheld++;
      if (problem !== lastProblem) {
        log?.error({ problem }, 'watchdog not fed');
        notifier.status(`watchdog withheld: ${problem}`);
      }
    } else {
      if (lastProblem) notifier.status('running');
      notifier.watchdog();
    }
    lastProblem = problem;
  };

  if (intervalMs !== null) {
    lag.enable();
    timer = setInterval(tick, intervalMs);
    // The door's own handles keep the process alive; the watchdog alone must not.
    timer.unref();
    log?.info({ intervalMs }, 'systemd watchdog armed');
  }
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
    lag.disable();
  };

  return {
    notifier,
    get withheld() {
      return withheld;
    },
    ready(status = 'running') {
      notifier.ready(status);
      if (intervalMs !== null) {
        lastTickAt = performance.now() - intervalMs;
        tick();
      }
    },
    status(text) {
      notifier.status(text);
    },
    stopping(status) {
      stop();
      notifier.stopping(status);
    },
    async close() {
      stop();
      await notifier.close();
    },
  };
}

function safeHealth(health: () => Health): Health {
  try {
    return health();
  } catch (error) {
    return { ok: false, checks: { health: false, [`error: ${(error as Error).message}`]: false } };
  }
}
