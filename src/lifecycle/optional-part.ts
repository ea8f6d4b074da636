/**
 * A part the door can live without (dashboard, ops endpoints, …). Starting it never throws: a failure
 * raises `part_failed` naming the part, and it is tried again with backoff until it runs or is stopped.
 */
import type { Alarms } from '../alarms/alarms.ts';
import type { Logger } from '../log/logger.ts';

export interface OptionalPartOptions<T> {
  name: string;
  start: () => Promise<T>;
  stop: (running: T) => Promise<void>;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export class OptionalPart<T> {
  private running: T | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private attempt: Promise<void> = Promise.resolve();

  constructor(private readonly options: OptionalPartOptions<T>) {}

  get name(): string {
    return this.options.name;
  }

  /** The running part, or undefined while it is down. */
  get current(): T | undefined {
    return this.running;
  }

  /** Tries once now; resolves either way (a failure schedules the next try). */
  begin(): Promise<void> {
    this.attempt = this.tryStart();
    return this.attempt;
  }

  private async tryStart(): Promise<void> {
    const { name, alarms, log } = this.options;
    try {
      const running = await this.options.start();
      if (this.stopped) {
        await this.options.stop(running).catch(() => undefined);
        return;
      }
      this.running = running;
      if (this.failures > 0) log.info({ part: name }, 'part started after failing');
      this.failures = 0;
      alarms.clear('part_failed', name);
    } catch (error) {
      this.failures++;
      const message = (error as Error)?.message ?? String(error);
      const delay = Math.min(
        (this.options.retryMinMs ?? 1000) * 2 ** (this.failures - 1),
        this.options.retryMaxMs ?? 300_000,
      );
      log.error(
        { part: name, err: message, retryMs: delay },
        'part failed to start; the door runs without it',
      );
      alarms.raise('part_failed', name, message.slice(0, 300));
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.begin();
      }, delay);
      this.timer.unref();
    }
  }

  /** Stops retrying and stops the part if it runs; never throws. */
  async end(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.attempt;
    const running = this.running;
    this.running = undefined;
    if (running === undefined) return;
    try {
      await this.options.stop(running);
    } catch (error) {
      this.options.log.warn({ part: this.options.name, err: (error as Error).message }, 'part stop failed');
    }
  }
}
