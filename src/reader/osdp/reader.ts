/** A card reader on an OSDP bus: the CardReader the door sees, over a PdLink on a (shared) OsdpBus. */
import { EventEmitter } from 'node:events';
import type { SecretRef } from '../../config/secret-ref.ts';
import type { Decision } from '../../contract/reasons.ts';
import type { Logger } from '../../log/logger.ts';
import type { ReaderConfig } from '../config.ts';
import { createParser } from '../frames.ts';
import { type CardReader, type CardReaderEvents, FrameDispatcher, type ReaderStatus } from '../reader.ts';
import { OsdpBus } from './bus.ts';
import { acquireBus } from './buses.ts';
import type { OsdpConfig } from './config.ts';
import { feedbackCommands, type Language } from './feedback.ts';
import { ReconnectingSerialPort } from '../reconnecting-port.ts';
import { parseKey } from './key.ts';
import { type InsecureWhy, PdLink } from './link.ts';

export interface OsdpReaderOptions {
  language: Language;
  /** Reads the reader's key (security key); the value is never logged. */
  readSecret: (ref: SecretRef) => string;
  /** Tests and the bench pass their own bus; the service shares one per serial path. */
  bus?: OsdpBus | undefined;
  /** Pause before a failed handshake is tried again; default 5 s. */
  handshakeRetryMs?: number | undefined;
}

/** Pause before a failed handshake is tried again; each try is logged and keeps the alarm up. */
const HANDSHAKE_RETRY_MS = 5000;
/** How often an offline reader is called. */
const OFFLINE_RETRY_MS = 1000;

export class OsdpCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  private readonly dispatcher: FrameDispatcher;
  private readonly osdp: OsdpConfig;
  private readonly link: PdLink;
  private held: { bus: OsdpBus; release(): Promise<void> } | undefined;
  private status: ReaderStatus | undefined;
  private running = false;

  constructor(
    private readonly config: ReaderConfig,
    private readonly log: Logger,
    readonly name: string,
    private readonly options: OsdpReaderOptions,
  ) {
    super();
    if (!config.osdp) throw new Error('reader.osdp is missing');
    this.osdp = config.osdp;
    this.dispatcher = new FrameDispatcher(
      createParser(this.osdp.keypad_pin ? 'keypad' : 'line', config),
      this,
      log,
      name,
    );
    this.link = new PdLink({
      address: this.osdp.address,
      security: this.osdp.security,
      key: () => this.key(),
      offlineAfter: this.osdp.offline_after,
      handshakeRetryMs: options.handshakeRetryMs ?? HANDSHAKE_RETRY_MS,
      offlineRetryMs: OFFLINE_RETRY_MS,
    });
    this.wire();
  }

  get online(): boolean {
    return this.status === 'online';
  }

  /** The link underneath, for `dorvakt osdp keyset` and tests. */
  get pd(): PdLink {
    return this.link;
  }

  get bus(): OsdpBus | undefined {
    return this.held?.bus;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.osdp.security === 'install')
      this.log.warn(
        { reader: this.name },
        'osdp reader in install mode: default key, commission it (dorvakt osdp keyset)',
      );
    if (this.osdp.security === 'plaintext')
      this.log.warn(
        { reader: this.name },
        'osdp reader without secure channel: card numbers cross the wire in clear',
      );
    this.held = this.options.bus
      ? { bus: this.options.bus, release: async () => {} }
      : acquireBus(this.config.path, () => this.createBus());
    this.held.bus.add(this.link);
    this.held.bus.start();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.dispatcher.reset();
    this.held?.bus.remove(this.link);
    await this.held?.release();
    this.held = undefined;
    this.status = undefined;
  }

  feedback(decision: Decision): void {
    if (!this.running || !this.link.isOnline) return;
    try {
      this.link.sendFeedback(
        feedbackCommands(decision, this.osdp, this.options.language, this.link.hasDisplay),
      );
      this.held?.bus.kick();
    } catch (error) {
      this.log.warn({ reader: this.name, err: (error as Error).message }, 'osdp feedback not sent');
    }
  }

  private createBus(): OsdpBus {
    const transport = new ReconnectingSerialPort({
      path: this.config.path,
      baudRate: this.config.baud_rate,
      reconnectMinMs: this.config.reconnect_min_ms,
      reconnectMaxMs: this.config.reconnect_max_ms,
      log: this.log,
    });
    return new OsdpBus(transport, {
      baudRate: this.config.baud_rate,
      pollIntervalMs: this.osdp.poll_interval_ms,
      replyTimeoutMs: this.osdp.reply_timeout_ms,
      log: this.log,
    });
  }

  private key(): Buffer | undefined {
    if (!this.osdp.scbk) return undefined;
    try {
      return parseKey(this.options.readSecret(this.osdp.scbk));
    } catch (error) {
      this.log.error({ reader: this.name, err: (error as Error).message }, 'osdp reader key unusable');
      return undefined;
    }
  }

  private wire(): void {
    const link = this.link;
    const fields = { reader: this.name, path: this.config.path, address: this.osdp.address };
    link.on('status', (status) => {
      if (!this.running || status === this.status) return;
      this.status = status;
      this.dispatcher.reset();
      if (status === 'online') this.log.info(fields, 'osdp reader online');
      else this.log.warn(fields, 'osdp reader offline (no answer to polls)');
      this.emit('status', status);
    });
    link.on('card', (card) => {
      if (!this.running) return;
      // A card number with a control byte in it is never joined or split into another number.
      if (!/^[\x20-\x7e]+$/.test(card)) {
        this.log.warn({ reader: this.name, why: 'non_printable' }, 'card reader rejected input');
        this.emit('rejected', { why: 'non_printable' });
        return;
      }
      this.dispatcher.feed(Buffer.from(`${card}\r`, 'latin1'));
    });
    link.on('keypad', (keys) => {
      if (this.running && this.osdp.keypad_pin) this.dispatcher.feed(Buffer.from(keys, 'latin1'));
    });
    link.on('refused', (why) => {
      this.log.warn({ reader: this.name, why }, 'card reader rejected input');
      this.emit('rejected', { why });
    });
    link.on('tamper', (tampered) => this.emit('alarm', 'reader_tamper', tampered));
    link.on('insecure', (why: InsecureWhy | null) => {
      if (why)
        this.log.error(
          { ...fields, why },
          'osdp secure channel failed: no card is accepted from this reader',
        );
      else this.log.info(fields, 'osdp secure channel up');
      this.emit('alarm', 'reader_insecure', why !== null, why ?? undefined);
    });
    link.on('identity', (id) => this.log.info({ ...fields, ...id }, 'osdp reader identified'));
  }
}
