/**
 * Card lines typed on standard input: the demo's reader when no serial device (or socat) exists.
 * Lines are parsed as the `line` profile; with profile `keypad`, type the card, Enter, then `1234#`.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log/logger.ts';
import type { ReaderConfig } from './config.ts';
import { createParser } from './frames.ts';
import { type CardReader, type CardReaderEvents, FrameDispatcher } from './reader.ts';

export type StdinReaderConfig = Pick<ReaderConfig, 'card_pattern' | 'pin_timeout_ms' | 'profile'>;

export class StdinCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  private readonly dispatcher: FrameDispatcher;
  private running = false;
  private isOnline = false;
  private readonly onData = (chunk: Buffer | string) =>
    this.dispatcher.feed(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  private readonly onEnd = () => {
    this.dispatcher.reset();
    if (!this.isOnline) return;
    this.isOnline = false;
    this.log.warn({ reader: this.name }, 'card reader offline (stdin ended)');
    this.emit('status', 'offline');
  };

  constructor(
    config: StdinReaderConfig,
    private readonly log: Logger,
    readonly name: string,
    private readonly input: NodeJS.ReadableStream = process.stdin,
  ) {
    super();
    // Nobody types STX/ETX frames by hand: stx-etx falls back to lines.
    const profile = config.profile === 'keypad' ? 'keypad' : 'line';
    this.dispatcher = new FrameDispatcher(createParser(profile, config), this, log, name);
  }

  get online(): boolean {
    return this.isOnline;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.resume();
    this.isOnline = true;
    this.log.info({ reader: this.name }, 'card reader online (stdin)');
    this.emit('status', 'online');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.pause();
    this.dispatcher.reset();
    this.isOnline = false;
  }
}
