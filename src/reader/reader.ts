/** What every card reader emits, and the glue between a byte source and a frame parser. */
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Decision } from '../contract/reasons.ts';
import type { Logger } from '../log/logger.ts';
import type { FrameParser, FrameResult, RejectReason } from './frames.ts';

export interface SwipeEvent {
  /** Raw card number: hand it to the HMAC, never to a log. */
  card: string;
  /** keypad profile only; never stored or logged. */
  pin?: string;
  /** process.hrtime.bigint() when the chunk holding the frame's last byte arrived. */
  receivedAt: bigint;
}

export interface RejectedEvent {
  why: RejectReason;
}

export type ReaderStatus = 'online' | 'offline';

/** Conditions a supervised reader (OSDP) reports, raised and cleared as door alarms of the same code. */
export type ReaderAlarm = 'reader_tamper' | 'reader_insecure';

export interface CardReaderEvents {
  swipe: [SwipeEvent];
  rejected: [RejectedEvent];
  /** Emitted on changes only; the first open attempt always reports one or the other. */
  status: [ReaderStatus];
  /** Supervised readers only: a condition began (true) or ended (false); `detail` is operator text. */
  alarm: [ReaderAlarm, boolean, string?];
}

export interface CardReader extends EventEmitter<CardReaderEvents> {
  readonly name: string;
  readonly online: boolean;
  /** Attach listeners first: status may be emitted synchronously. */
  start(): void;
  /** Closes the source; emits no further events. */
  stop(): Promise<void>;
  /** Readers with a light, a beeper or a display show the patron the door's decision. Never throws. */
  feedback?(decision: Decision): void;
}

/**
 * Feeds chunks to a parser, runs its deadline timer (keypad PIN timeout) and turns results into
 * events. Rejections are logged once each, with the reason only, never the bytes.
 */
export class FrameDispatcher {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly parser: FrameParser,
    private readonly target: EventEmitter<CardReaderEvents>,
    private readonly log: Logger,
    private readonly reader: string,
  ) {}

  feed(chunk: Uint8Array): void {
    const receivedAt = process.hrtime.bigint();
    this.deliver(this.parser.push(chunk, performance.now()), receivedAt);
  }

  /** Drops any half-read frame and pending PIN wait. */
  reset(): void {
    this.parser.reset();
    this.clearTimer();
  }

  private deliver(results: FrameResult[], receivedAt: bigint): void {
    this.rearm();
    for (const result of results) {
      if (result.kind === 'swipe') {
        const swipe: SwipeEvent = { card: result.card, receivedAt };
        if (result.pin !== undefined) swipe.pin = result.pin;
        this.target.emit('swipe', swipe);
      } else {
        this.log.warn({ reader: this.reader, why: result.why }, 'card reader rejected input');
        this.target.emit('rejected', { why: result.why });
      }
    }
  }

  private rearm(): void {
    this.clearTimer();
    const deadline = this.parser.nextDeadline();
    if (deadline === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.deliver(this.parser.expire(performance.now()), process.hrtime.bigint());
      },
      Math.max(0, Math.ceil(deadline - performance.now())),
    );
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
