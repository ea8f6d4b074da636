/**
 * A Wiegand reader on two GPIO lines, read through the GPIO character device by libgpiod's `gpiomon`
 * as a supervised child: it is restarted with backoff when it dies, the reader is offline (alarm
 * `reader_offline`) while it is down, and nothing the door does waits for it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Decision } from '../../contract/reasons.ts';
import { fileLineOpener, type LineOpener } from '../../door/gpio-line.ts';
import { resolveGpioLine } from '../../door/gpio-resolve.ts';
import type { Logger } from '../../log/logger.ts';
import { formatWiegand } from '../card-format.ts';
import type { ReaderConfig } from '../config.ts';
import type { RejectReason } from '../frames.ts';
import { createParser } from '../frames.ts';
import { type CardReader, type CardReaderEvents, FrameDispatcher, type ReaderStatus } from '../reader.ts';
import type { WiegandConfig } from './config.ts';
import { type WiegandDrop, WiegandDecoder, type WiegandResult } from './decoder.ts';
import { type FeedbackOutput, type OutputLine, WiegandFeedback } from './feedback.ts';
import { gpiomonArgs, isBanner, LineSplitter, parseGpiomonLine } from './gpiomon.ts';

/** Wiegand drops as the reader's reject reasons (contract/reader.ts): no new codes on the wire. */
const DROP_REASON: Record<WiegandDrop, RejectReason> = {
  parity: 'bad_checksum',
  length: 'bad_length',
  noise: 'garbage',
};

/** A gpiomon that has not said it holds the lines by then counts as down. */
const BANNER_TIMEOUT_MS = 5000;
/** After SIGTERM, how long before SIGKILL on stop. */
const KILL_AFTER_MS = 2000;

export interface WiegandReaderOptions {
  /** Opens the LED/beeper outputs; default sysfs under wiegand.sysfs_root. */
  opener?: LineOpener | undefined;
}

export class WiegandCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  private readonly wiegand: WiegandConfig;
  private readonly dispatcher: FrameDispatcher;
  private readonly decoder: WiegandDecoder;
  private readonly lines = new LineSplitter();
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private bannerTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private running = false;
  private status: ReaderStatus | undefined;
  private output: WiegandFeedback | undefined;
  private outputsOpening: Promise<void> | undefined;

  constructor(
    private readonly config: ReaderConfig,
    private readonly log: Logger,
    readonly name: string,
    private readonly options: WiegandReaderOptions = {},
  ) {
    super();
    if (!config.wiegand) throw new Error('reader.wiegand is missing');
    this.wiegand = config.wiegand;
    // The frame is put in the configured form here; the line parser then only checks card_pattern.
    this.dispatcher = new FrameDispatcher(
      createParser('line', { ...config, card_format: 'as-read' }),
      this,
      log,
      name,
    );
    this.decoder = new WiegandDecoder({
      d0: this.wiegand.d0,
      d1: this.wiegand.d1,
      gapNs: BigInt(this.wiegand.frame_gap_ms) * 1_000_000n,
      minIntervalNs: BigInt(this.wiegand.min_bit_interval_us) * 1_000n,
    });
  }

  get online(): boolean {
    return this.status === 'online';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.spawnMonitor();
    this.outputsOpening = this.openOutputs();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const timer of [this.restartTimer, this.bannerTimer, this.idleTimer]) clearTimeout(timer);
    this.decoder.reset();
    this.dispatcher.reset();
    const child = this.child;
    const exited = this.exited;
    this.child = undefined;
    if (child && exited) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await exited;
      clearTimeout(kill);
    }
    await this.outputsOpening;
    this.output?.close();
    this.output = undefined;
    this.status = undefined;
  }

  feedback(decision: Decision): void {
    if (!this.running) return;
    try {
      this.output?.show(decision);
    } catch (error) {
      this.log.warn({ reader: this.name, err: (error as Error).message }, 'wiegand feedback not shown');
    }
  }

  private spawnMonitor(): void {
    const args = gpiomonArgs(this.config.path, this.wiegand);
    const child = spawn(this.wiegand.gpiomon, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.lines.reset();
    this.decoder.reset();
    let gone = false;
    this.exited = new Promise<void>((resolve) => {
      const onGone = (why: string) => {
        if (gone) return;
        gone = true;
        resolve();
        this.monitorGone(child, why);
      };
      child.on('error', (error) => onGone(error.message));
      child.on('close', (code, signal) => onGone(signal ? `signal ${signal}` : `exit ${code}`));
    });
    child.stdout?.setEncoding('latin1');
    child.stdout?.on('data', (chunk: string) => this.onOutput(child, chunk));
    child.stderr?.setEncoding('utf8');
    // gpiomon's own errors (no such chip, line busy): operator text, never card data.
    child.stderr?.on('data', (text: string) =>
      this.log.warn({ reader: this.name, gpiomon: text.trim().slice(0, 300) }, 'gpiomon says'),
    );
    clearTimeout(this.bannerTimer);
    this.bannerTimer = setTimeout(() => {
      if (this.child === child && this.status !== 'online') this.setStatus('offline');
    }, BANNER_TIMEOUT_MS);
    this.bannerTimer.unref();
  }

  private monitorGone(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    clearTimeout(this.bannerTimer);
    clearTimeout(this.idleTimer);
    // A frame cut by the restart is never joined to bits after it.
    this.decoder.reset();
    if (!this.running) return;
    this.setStatus('offline');
    const min = this.config.reconnect_min_ms;
    const delay = Math.min(
      Math.max(min, this.config.reconnect_max_ms),
      min * 2 ** Math.min(this.attempt, 16),
    );
    this.attempt++;
    this.log.warn({ reader: this.name, why, retry_ms: delay }, 'gpiomon stopped; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.running) this.spawnMonitor();
    }, delay);
    this.restartTimer.unref();
  }

  private onOutput(child: ChildProcess, chunk: string): void {
    if (this.child !== child || !this.running) return;
    for (const line of this.lines.push(chunk)) {
      const edge = parseGpiomonLine(line);
      if (edge) this.deliver(this.decoder.edge(edge));
      else if (isBanner(line)) {
        this.attempt = 0;
        this.setStatus('online');
      }
    }
    clearTimeout(this.idleTimer);
    if (!this.decoder.inProgress) return;
    this.idleTimer = setTimeout(() => this.deliver(this.decoder.end()), this.wiegand.frame_gap_ms);
    this.idleTimer.unref();
  }

  private deliver(results: WiegandResult[]): void {
    for (const result of results) {
      if (result.kind === 'dropped') {
        this.reject(DROP_REASON[result.why]);
        continue;
      }
      const card = formatWiegand(result.frame, this.config.card_format ?? 'as-read');
      if (card === undefined) this.reject('bad_length');
      else this.dispatcher.feed(Buffer.from(`${card}\r`, 'latin1'));
    }
  }

  private reject(why: RejectReason): void {
    this.log.warn({ reader: this.name, why }, 'card reader rejected input');
    this.emit('rejected', { why });
  }

  private setStatus(status: ReaderStatus): void {
    if (status === this.status) return;
    this.status = status;
    if (status === 'online')
      this.log.info({ reader: this.name, chip: this.config.path }, 'wiegand reader online');
    else
      this.log.warn(
        { reader: this.name, chip: this.config.path },
        'wiegand reader offline (gpiomon not running)',
      );
    this.emit('status', status);
  }

  /** The LED and beeper outputs; a line that cannot be opened leaves that part of the feedback out. */
  private async openOutputs(): Promise<void> {
    const opener = this.options.opener ?? fileLineOpener(this.wiegand.sysfs_root);
    const lines: Partial<Record<FeedbackOutput, OutputLine>> = {};
    for (const output of ['led_green', 'led_red', 'beeper'] as const) {
      const pin = this.wiegand[output];
      if (!pin) continue;
      try {
        const gpio = resolveGpioLine(pin.pin, this.wiegand.sysfs_root);
        const io = await opener(gpio, { direction: 'out', initial: pin.active_low ? 1 : 0 });
        lines[output] = { io, activeLow: pin.active_low };
      } catch (error) {
        this.log.error(
          { reader: this.name, output, err: (error as Error).message },
          'wiegand feedback line unusable',
        );
      }
    }
    if (!this.running) {
      for (const line of Object.values(lines)) line.io.close();
      return;
    }
    if (Object.keys(lines).length > 0)
      this.output = new WiegandFeedback(lines, this.wiegand.feedback, this.log, this.name);
  }
}
