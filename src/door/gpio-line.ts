import { closeSync, existsSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A physical level on a pin. Active-low is applied above this layer, by the driver. */
export type Level = 0 | 1;

export type LineDirection = { direction: 'in' } | { direction: 'out'; initial: Level };

/**
 * One exported sysfs GPIO line, in physical levels. Two implementations:
 * `OnoffLine` (onoff: epoll edge interrupts; hard-wired to /sys/class/gpio) and `FileLine`
 * (plain file reads/writes and polling; works on any root, so tests use it on a fake tree).
 */
export interface GpioLineIo {
  readonly gpio: number;
  read(): Level;
  write(level: Level): void;
  /** Calls the listener with the new level whenever it changes. */
  watch(listener: (level: Level) => void): void;
  close(): void;
}

export type LineOpener = (gpio: number, direction: LineDirection) => Promise<GpioLineIo>;

export interface FileLineOptions {
  /** How often an input's value file is read (sysfs values do not raise inotify events). */
  pollMs?: number;
  /** How long to wait for the kernel (and udev permissions) after writing `export`. */
  exportTimeoutMs?: number;
}

/**
 * A line driven through the sysfs files directly. The kernel's own `active_low` is forced to 0 so
 * the level written is the level on the pin, and an output's first level is set together with its
 * direction (`high`/`low` are raw levels in the kernel), so an active-low relay never blips on.
 */
export class FileLine implements GpioLineIo {
  private readonly fd: number;
  private readonly listeners: ((level: Level) => void)[] = [];
  private poller: NodeJS.Timeout | null = null;
  private last: Level;
  private closed = false;

  private constructor(
    private readonly root: string,
    readonly gpio: number,
    private readonly pollMs: number,
  ) {
    this.fd = openSync(join(this.dir, 'value'), 'r+');
    this.last = this.read();
  }

  private get dir(): string {
    return join(this.root, `gpio${this.gpio}`);
  }

  static async open(
    root: string,
    gpio: number,
    direction: LineDirection,
    options: FileLineOptions = {},
  ): Promise<FileLine> {
    const dir = join(root, `gpio${gpio}`);
    if (!existsSync(dir)) {
      writeFileSync(join(root, 'export'), String(gpio));
      await waitForFiles(dir, options.exportTimeoutMs ?? 2000);
    }
    writeFileSync(join(dir, 'active_low'), '0');
    writeFileSync(
      join(dir, 'direction'),
      direction.direction === 'in' ? 'in' : direction.initial ? 'high' : 'low',
    );
    return new FileLine(root, gpio, options.pollMs ?? 20);
  }

  read(): Level {
    const buf = Buffer.alloc(1);
    readSync(this.fd, buf, 0, 1, 0);
    return buf[0] === 0x31 ? 1 : 0;
  }

  write(level: Level): void {
    writeSync(this.fd, level ? '1' : '0', 0);
  }

  watch(listener: (level: Level) => void): void {
    this.listeners.push(listener);
    if (this.poller) return;
    this.last = this.read();
    this.poller = setInterval(() => this.poll(), this.pollMs);
    // The door's other handles keep the process alive; an input alone should not.
    this.poller.unref();
  }

  private poll(): void {
    let level: Level;
    try {
      level = this.read();
    } catch {
      return; // a read error is transient or the line is going away; the next poll tries again
    }
    if (level === this.last) return;
    this.last = level;
    for (const listener of [...this.listeners]) listener(level);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    this.listeners.length = 0;
    closeSync(this.fd);
    try {
      writeFileSync(join(this.root, 'unexport'), String(this.gpio));
    } catch {
      // Some boards refuse unexport of claimed lines; the line stays at its last level either way.
    }
  }
}

async function waitForFiles(dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const needed = ['value', 'direction', 'active_low'].map((f) => join(dir, f));
  for (;;) {
    if (needed.every((p) => isWritable(p))) return;
    if (Date.now() > deadline)
      throw new Error(`GPIO ${dir} did not appear (or stayed unwritable) after export`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function isWritable(path: string): boolean {
  try {
    closeSync(openSync(path, 'r+'));
    return true;
  } catch {
    return false;
  }
}

export const fileLineOpener =
  (root: string, options: FileLineOptions = {}): LineOpener =>
  (gpio, direction) =>
    FileLine.open(root, gpio, direction, options);
