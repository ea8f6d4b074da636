/**
 * A serial port (USB-serial, CDC-ACM, UART, USB RS-485 adapter) reopened with backoff whenever it goes away:
 * what the line readers and the OSDP bus both sit on.
 */
import type { AutoDetectTypes } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import type { Logger } from '../log/logger.ts';
import { hangupAwareBinding } from './serial-binding.ts';

/** Backoff before reconnect attempt `attempt` (0-based): doubling from min, capped at max, +≤20% jitter. */
export function reconnectDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const cap = Math.max(minMs, maxMs);
  const base = Math.min(cap, minMs * 2 ** Math.min(attempt, 30));
  return Math.min(cap, Math.round(base * (1 + 0.2 * random())));
}

export interface PortHandlers {
  data(chunk: Buffer): void;
  /** Open (again): nothing read before the outage belongs to what comes now. */
  open(): void;
  /** Gone or not openable; a reopen is scheduled. */
  closed(detail: string): void;
}

export interface ReconnectingPortOptions {
  path: string;
  baudRate: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: Logger;
}

export class ReconnectingSerialPort {
  private port: SerialPortStream<AutoDetectTypes> | undefined;
  private opening: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private running = false;
  private handlers: PortHandlers | undefined;

  constructor(private readonly options: ReconnectingPortOptions) {}

  start(handlers: PortHandlers): void {
    if (this.running) return;
    this.handlers = handlers;
    this.running = true;
    this.connect();
  }

  write(bytes: Uint8Array): void {
    this.port?.write(Buffer.from(bytes));
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.opening;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private connect(): void {
    const { path, baudRate } = this.options;
    // serialport's SerialPort is this stream with the detected binding; here it gets the hang-up-aware one.
    const port = new SerialPortStream<AutoDetectTypes>({
      path,
      baudRate,
      autoOpen: false,
      binding: hangupAwareBinding as unknown as AutoDetectTypes,
    });
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      if (this.port === port) this.handlers?.data(chunk);
    });
    // Read errors close the port (handled below); this only keeps them from being unhandled.
    port.on('error', (err) => this.options.log.debug({ path, err: err.message }, 'serial port error'));
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
        this.handlers?.open();
      });
    });
  }

  private lost(detail: string): void {
    if (!this.running) return;
    this.handlers?.closed(detail);
    const delay = reconnectDelay(this.attempt++, this.options.reconnectMinMs, this.options.reconnectMaxMs);
    this.options.log.debug({ path: this.options.path, delay, detail }, 'serial port reopen scheduled');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running) this.connect();
    }, delay);
  }
}
