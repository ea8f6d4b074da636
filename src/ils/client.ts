/**
 * SIP2 client: a small pool of connections, reconnects with a fresh login, a heartbeat, and a
 * circuit breaker so swipes get an answer at once while the library system is away.
 */
import type { Alarms } from '../alarms/alarms.ts';
import type { Logger } from '../log/logger.ts';
import type { SipMessage } from './codec.ts';
import type { IlsConfig } from './config.ts';
import { type ConnectionOptions, Sip2Connection, SipError } from './connection.ts';
import {
  endSessionRequest,
  type PatronInfoReply,
  parsePatronReply,
  patronInformationRequest,
  patronStatusRequest,
} from './messages.ts';

export interface Sip2ClientOptions {
  config: IlsConfig;
  /** Connection details with secrets and TLS material already read. */
  connection: ConnectionOptions;
  terminalPassword: string;
  log: Logger;
  alarms?: Alarms | undefined;
}

export interface Sip2ClientStats {
  circuit: 'closed' | 'open' | 'half_open';
  connections: number;
  idle: number;
  waiting: number;
  consecutiveFailures: number;
  lastError: string | null;
}

export type PatronInfoResult = { ok: true; reply: PatronInfoReply } | { ok: false; error: string };

export class Sip2Client {
  private readonly idle: Sip2Connection[] = [];
  private readonly live = new Set<Sip2Connection>();
  private opening = 0;
  private readonly waiters: Array<() => void> = [];
  private failures = 0;
  private circuitOpen = false;
  private halfOpen = false;
  private backoffMs: number;
  private lastError: string | null = null;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: Sip2ClientOptions) {
    this.backoffMs = opts.config.circuit.backoff_min_ms;
    const seconds = opts.config.heartbeat_seconds;
    if (seconds > 0) {
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), seconds * 1000);
      this.heartbeatTimer.unref();
    }
  }

  /** Whether the breaker is open (lookups answer `unavailable` at once). */
  get isCircuitOpen(): boolean {
    return this.circuitOpen;
  }

  /** For the dashboard and metrics: no card data in here. */
  stats(): Sip2ClientStats {
    return {
      circuit: this.circuitOpen ? 'open' : this.halfOpen ? 'half_open' : 'closed',
      connections: this.live.size,
      idle: this.idle.length,
      waiting: this.waiters.length,
      consecutiveFailures: this.failures,
      lastError: this.lastError,
    };
  }

  /** Opens one connection ahead of the first swipe; a failure counts like a failed lookup. */
  async warmUp(): Promise<boolean> {
    if (this.circuitOpen || this.closed) return false;
    try {
      this.release(await this.acquire());
      return true;
    } catch (error) {
      this.recordFailure(error as Error);
      return false;
    }
  }

  /** Patron information (63) or patron status (23), as configured. */
  async patronInfo(card: string, pin: string | undefined): Promise<PatronInfoResult> {
    if (this.closed) return { ok: false, error: 'client closed' };
    if (this.circuitOpen) return { ok: false, error: 'circuit open: the library system is not answering' };
    const { config } = this.opts;
    const build = (): SipMessage =>
      config.message === 23
        ? patronStatusRequest(config.institution, card, this.opts.terminalPassword, pin)
        : patronInformationRequest(config.institution, card, this.opts.terminalPassword, pin);
    let lastError: Error = new Error('no attempt made');
    for (let attempt = 0; attempt <= config.retries; attempt++) {
      let connection: Sip2Connection;
      try {
        connection = await this.acquire();
      } catch (error) {
        lastError = error as Error;
        break;
      }
      try {
        const reply = await connection.request(build());
        if (config.end_session) {
          await connection.request(endSessionRequest(config.institution, card, this.opts.terminalPassword));
        }
        this.release(connection);
        this.recordSuccess();
        return { ok: true, reply: parsePatronReply(reply) };
      } catch (error) {
        this.release(connection);
        lastError = error as Error;
        // Only a dropped connection is worth a second try on a fresh one; a timeout would double the wait.
        if (!(error instanceof SipError && error.kind === 'closed')) break;
      }
    }
    this.recordFailure(lastError);
    return { ok: false, error: lastError.message };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.recoveryTimer);
    for (const connection of [...this.live]) connection.close();
    this.idle.length = 0;
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async acquire(): Promise<Sip2Connection> {
    const { config } = this.opts;
    const deadline = Date.now() + config.connect_timeout_ms + config.request_timeout_ms;
    for (;;) {
      if (this.closed) throw new SipError('closed', 'client closed');
      const ready = this.idle.pop();
      if (ready) {
        if (!ready.closed) return ready;
        continue;
      }
      if (this.live.size + this.opening < config.pool_size) {
        this.opening++;
        try {
          const connection = await Sip2Connection.open(this.opts.connection);
          this.live.add(connection);
          connection.onClose = () => {
            this.live.delete(connection);
            const index = this.idle.indexOf(connection);
            if (index >= 0) this.idle.splice(index, 1);
            this.wake();
          };
          if (connection.closed) connection.onClose();
          return connection;
        } finally {
          this.opening--;
          this.wake();
        }
      }
      const waitMs = deadline - Date.now();
      if (waitMs <= 0) throw new SipError('timeout', 'all library system connections are busy');
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          const index = this.waiters.indexOf(done);
          if (index >= 0) this.waiters.splice(index, 1);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        this.waiters.push(done);
      });
    }
  }

  private release(connection: Sip2Connection): void {
    if (!connection.closed && !this.closed) this.idle.push(connection);
    this.wake();
  }

  private wake(): void {
    this.waiters.shift()?.();
  }

  private recordSuccess(): void {
    this.failures = 0;
    this.lastError = null;
    this.backoffMs = this.opts.config.circuit.backoff_min_ms;
    this.halfOpen = false;
    if (this.circuitOpen) this.closeCircuit();
  }

  private recordFailure(error: Error): void {
    this.failures++;
    this.lastError = error.message;
    this.opts.log.warn(
      { ils: 'sip2', err: error.message, failures: this.failures },
      'library system request failed',
    );
    if (this.circuitOpen) return;
    // Half-open (just recovered, no real answer yet): one failure is enough to open again.
    if (this.halfOpen || this.failures >= this.opts.config.circuit.failure_threshold) this.openCircuit(error);
  }

  private openCircuit(error: Error): void {
    this.circuitOpen = true;
    // After a failed half-open trial the wait keeps growing; a fresh outage starts from the minimum.
    const delay = this.halfOpen
      ? Math.min(this.backoffMs * 2, this.opts.config.circuit.backoff_max_ms)
      : this.opts.config.circuit.backoff_min_ms;
    this.halfOpen = false;
    this.opts.log.error({ ils: 'sip2', err: error.message }, 'library system unavailable: circuit open');
    this.opts.alarms?.raise('ils_offline', '', error.message);
    for (const connection of [...this.live]) connection.close();
    this.scheduleRecovery(delay);
  }

  private closeCircuit(): void {
    this.circuitOpen = false;
    this.failures = 0;
    clearTimeout(this.recoveryTimer);
    this.opts.log.info({ ils: 'sip2' }, 'library system answering again: circuit closed');
    this.opts.alarms?.clear('ils_offline');
  }

  /**
   * While open, reconnect (fresh login and SC status) with exponential backoff. Success closes the
   * circuit half-open: swipes are asked again, and the first failure opens it at once.
   */
  private scheduleRecovery(delayMs: number): void {
    if (this.closed) return;
    this.backoffMs = delayMs;
    clearTimeout(this.recoveryTimer);
    this.recoveryTimer = setTimeout(async () => {
      try {
        this.release(await this.acquire());
        this.halfOpen = true;
        this.closeCircuit();
      } catch (error) {
        this.lastError = (error as Error).message;
        this.scheduleRecovery(Math.min(delayMs * 2, this.opts.config.circuit.backoff_max_ms));
      }
    }, delayMs);
    this.recoveryTimer.unref();
  }

  /** SC status on an idle connection (or a new one): keeps it alive and notices an outage before a swipe does. */
  private async heartbeat(): Promise<void> {
    if (this.circuitOpen || this.closed) return;
    const idle = this.idle.pop();
    if (!idle && this.live.size + this.opening >= this.opts.config.pool_size) return; // all busy: alive enough
    try {
      const connection = idle && !idle.closed ? idle : await this.acquire();
      try {
        await connection.status();
      } finally {
        this.release(connection);
      }
    } catch (error) {
      this.recordFailure(error as Error);
    }
  }
}
