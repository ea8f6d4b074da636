/**
 * One RS-485 bus: half duplex, one outstanding command at a time, the readers on it served in turn by
 * address. Everything runs from I/O callbacks and timers: the door's event loop never waits on it.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../log/logger.ts';
import type { PdLink } from './link.ts';
import { PacketReader } from './protocol.ts';

/** The byte pipe under a bus: a serial port in service, anything in tests. */
export interface BusTransport {
  start(handlers: { data(chunk: Uint8Array): void; open(): void; closed(): void }): void;
  write(bytes: Uint8Array): void;
  stop(): Promise<void>;
}

export interface BusOptions {
  baudRate: number;
  pollIntervalMs: number;
  replyTimeoutMs: number;
  log: Logger;
}

export interface BusCounters {
  exchanges: number;
  timeouts: number;
  badPackets: number;
}

/** Wait before looking again when no reader has anything due (offline retry, handshake pause). */
const IDLE_RECHECK_MS = 20;

export class OsdpBus {
  private readonly links: PdLink[] = [];
  private readonly packets = new PacketReader();
  private current: { link: PdLink; timer: NodeJS.Timeout } | undefined;
  private wake: NodeJS.Timeout | undefined;
  private turn = 0;
  private open = false;
  private running = false;
  readonly counters: BusCounters = { exchanges: 0, timeouts: 0, badPackets: 0 };

  constructor(
    private readonly transport: BusTransport,
    private readonly options: BusOptions,
  ) {}

  add(link: PdLink): void {
    this.links.push(link);
  }

  remove(link: PdLink): void {
    const i = this.links.indexOf(link);
    if (i >= 0) this.links.splice(i, 1);
    if (this.current?.link !== link) return;
    // Its reply will never be taken: the other readers on the bus go on at once.
    this.finish();
    this.schedule(0);
  }

  get size(): number {
    return this.links.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.transport.start({
      data: (chunk) => this.onData(chunk),
      open: () => {
        this.open = true;
        this.schedule(0);
      },
      closed: () => {
        this.open = false;
        this.finish();
        for (const link of this.links) link.transportLost();
      },
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.finish();
    clearTimeout(this.wake);
    this.wake = undefined;
    await this.transport.stop();
  }

  /** Send queued commands (door feedback) now instead of after the poll pause. */
  kick(): void {
    if (!this.current && this.open) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    clearTimeout(this.wake);
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.step();
    }, delayMs);
  }

  private step(): void {
    if (!this.running || !this.open || this.current) return;
    const now = performance.now();
    for (let tried = 0; tried < this.links.length; tried++) {
      const link = this.links[this.turn % this.links.length]!;
      this.turn = (this.turn + 1) % this.links.length;
      const bytes = link.next(now);
      if (!bytes) continue;
      this.packets.reset(); // nothing heard before this command belongs to its reply
      // The reply clock starts when the last byte has left at this baud rate (10 bits a byte).
      const wireMs = Math.ceil((bytes.length * 10_000) / this.options.baudRate);
      const timer = setTimeout(() => this.onTimeout(), this.options.replyTimeoutMs + wireMs);
      this.current = { link, timer };
      this.transport.write(bytes);
      return;
    }
    this.schedule(IDLE_RECHECK_MS);
  }

  private onData(chunk: Uint8Array): void {
    for (const result of this.packets.push(chunk)) {
      if (!result.ok) {
        this.counters.badPackets++;
        continue;
      }
      const current = this.current;
      if (!current) continue;
      if (!current.link.reply(result.packet, performance.now())) continue;
      this.counters.exchanges++;
      this.finish();
      this.schedule(this.links.some((l) => l.urgent) ? 0 : this.options.pollIntervalMs);
      return;
    }
  }

  private onTimeout(): void {
    const current = this.current;
    if (!current) return;
    this.counters.timeouts++;
    this.current = undefined;
    current.link.timeout(performance.now());
    this.schedule(0);
  }

  private finish(): void {
    if (this.current) clearTimeout(this.current.timer);
    this.current = undefined;
  }
}
