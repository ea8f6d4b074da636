/** A card reader on a serial port (USB-serial, CDC-ACM or UART), reconnecting when unplugged. */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import type { Logger } from '../log/logger.ts';
import type { ReaderConfig } from './config.ts';
import { createParser } from './frames.ts';
import { hangupAwareBinding } from './serial-binding.ts';
import { type CardReader, type CardReaderEvents, FrameDispatcher, type ReaderStatus } from './reader.ts';

/** Backoff before reconnect attempt `attempt` (0-based): doubling from min, capped at max, +≤20% jitter. */
export function reconnectDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const cap = Math.max(minMs, maxMs);
  const base = Math.min(cap, minMs * 2 ** Math.min(attempt, 30));
  return Math.min(cap, Math.round(base * (1 + 0.2 * random())));
}

export class SerialCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  private readonly dispatcher: FrameDispatcher;
  private port: SerialPort | undefined;
  private opening: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private running = false;
  private status: ReaderStatus | undefined;

  constructor(
    private readonly config: ReaderConfig,
    private readonly log: Logger,
    readonly name: string,
  ) {
    super();
    if (config.profile === 'osdp')
      throw new Error('an OSDP reader is read by OsdpCardReader (src/reader/osdp)');
    if (config.profile === 'wiegand')
      throw new Error('a Wiegand reader is read by WiegandCardReader (src/reader/wiegand)');
    const parser = createParser(config.profile, config);
    this.dispatcher = new FrameDispatcher(parser, this, log, name);
  }

  get online(): boolean {
    return this.status === 'online';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dispatcher.reset();
    await this.opening;
    const port = this.port;
    this.port = undefined;
    this.status = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private connect(): void {
    // SerialPort's types omit `binding`, but its constructor takes one (it spreads the options).
    const options = { path: this.config.path, baudRate: this.config.baud_rate, autoOpen: false };
    const port = new SerialPort({ ...options, binding: hangupAwareBinding } as typeof options);
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      if (this.port === port) this.dispatcher.feed(chunk);
    });
    // Read errors close the port (handled below); this only keeps them from being unhandled.
    port.on('error', (err) =>
      this.log.debug({ reader: this.name, err: err.message }, 'card reader port error'),
    );
    // Fallback for bindings that end the stream on a 0-byte read without closing the port.
    port.on('end', () => {
      if (this.port === port && port.isOpen) port.close();
    });
    port.on('close', () => {
      if (this.port !== port) return;
      this.port = undefined;
      this.lost('closed');
    });
    this.opening = new Promise((resolve) => {
      port.open((err) => {
        this.opening = undefined;
        resolve();
        if (!this.running) return; // stop() closes it
        if (err) {
          this.port = undefined;
          this.lost(err.message);
          return;
        }
        this.attempt = 0;
        this.dispatcher.reset(); // no half-frame from before the outage
        this.setStatus('online', 'open');
      });
    });
  }

  private lost(detail: string): void {
    this.dispatcher.reset();
    if (!this.running) return;
    this.setStatus('offline', detail);
    const delay = reconnectDelay(this.attempt++, this.config.reconnect_min_ms, this.config.reconnect_max_ms);
    this.log.debug({ reader: this.name, delay }, 'card reader reconnect scheduled');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running) this.connect();
    }, delay);
  }

  private setStatus(status: ReaderStatus, detail: string): void {
    if (this.status === status) return;
    this.status = status;
    const fields = { reader: this.name, path: this.config.path, detail };
    if (status === 'online') this.log.info(fields, 'card reader online');
    else this.log.warn(fields, 'card reader offline');
    this.emit('status', status);
  }
}
