/** The serial port (a USB RS-485 adapter) under an OSDP bus, reopened with backoff when it goes away. */
import { SerialPort } from 'serialport';
import type { Logger } from '../../log/logger.ts';
import { hangupAwareBinding } from '../serial-binding.ts';
import { reconnectDelay } from '../serial-reader.ts';
import type { BusTransport } from './bus.ts';

export interface SerialTransportOptions {
  path: string;
  baudRate: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: Logger;
}

export class SerialTransport implements BusTransport {
  private port: SerialPort | undefined;
  private opening: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private running = false;
  private handlers: Parameters<BusTransport['start']>[0] | undefined;

  constructor(private readonly options: SerialTransportOptions) {}

  start(handlers: Parameters<BusTransport['start']>[0]): void {
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
    const options = { path: this.options.path, baudRate: this.options.baudRate, autoOpen: false };
    // SerialPort's types omit `binding`, but its constructor takes one (it spreads the options).
    const port = new SerialPort({ ...options, binding: hangupAwareBinding } as typeof options);
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      if (this.port === port) this.handlers?.data(chunk);
    });
    port.on('error', (err) =>
      this.options.log.debug({ path: this.options.path, err: err.message }, 'osdp port error'),
    );
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
        if (!this.running) return;
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
    this.handlers?.closed();
    const delay = reconnectDelay(this.attempt++, this.options.reconnectMinMs, this.options.reconnectMaxMs);
    this.options.log.debug({ path: this.options.path, delay, detail }, 'osdp port reopen scheduled');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running) this.connect();
    }, delay);
  }
}
