/** A card reader on a serial port (USB-serial, CDC-ACM or UART), reconnecting when unplugged. */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log/logger.ts';
import type { ReaderConfig } from './config.ts';
import { createParser } from './frames.ts';
import { type CardReader, type CardReaderEvents, FrameDispatcher, type ReaderStatus } from './reader.ts';
import { ReconnectingSerialPort } from './reconnecting-port.ts';

export class SerialCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  private readonly dispatcher: FrameDispatcher;
  private readonly port: ReconnectingSerialPort;
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
    this.port = new ReconnectingSerialPort({
      path: config.path,
      baudRate: config.baud_rate,
      reconnectMinMs: config.reconnect_min_ms,
      reconnectMaxMs: config.reconnect_max_ms,
      log: log.child({ reader: name }),
    });
  }

  get online(): boolean {
    return this.status === 'online';
  }

  start(): void {
    this.port.start({
      data: (chunk) => this.dispatcher.feed(chunk),
      open: () => {
        this.dispatcher.reset(); // no half-frame from before the outage
        this.setStatus('online', 'open');
      },
      closed: (detail) => {
        this.dispatcher.reset();
        this.setStatus('offline', detail);
      },
    });
  }

  async stop(): Promise<void> {
    this.dispatcher.reset();
    await this.port.stop();
    this.dispatcher.reset();
    this.status = undefined;
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
