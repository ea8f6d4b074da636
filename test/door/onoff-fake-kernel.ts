/**
 * onoff's own source (node_modules/onoff/onoff.js, unchanged) run against a fake sysfs tree: its hard-wired
 * `/sys/class/gpio/` paths are redirected to a temp dir and its native `epoll` addon is replaced by a
 * stand-in that the fake kernel notifies. No gpio-sim here (no configfs, no kernel modules), so this is
 * as close to the production GPIO path as the machine allows: OnoffLine → real onoff code → files.
 *
 * The fake kernel does what the sysfs GPIO driver does synchronously inside the write: a number written
 * to `export` creates `gpioN/` (onoff busy-waits for it), one written to `unexport` removes it; a level
 * change on an input with an edge configured raises POLLPRI on every epoll that watches its value file.
 */
import * as realFs from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { FakeSysfs, PI5_KERNEL_6_6 } from './fake-sysfs.ts';

const ONOFF_ROOT = '/sys/class/gpio';
const require = createRequire(import.meta.url);

type PollerCallback = (err: Error | null, fd: number, events: number) => void;

export class FakeGpioKernel {
  readonly sysfs: FakeSysfs;
  readonly exported: number[] = [];
  readonly unexported: number[] = [];
  /** Every write to a direction file, in order: [gpio, what was written]. */
  readonly directionWrites: [number, string][] = [];
  /** fd → path of every file onoff holds open (to know which value file an epoll watches). */
  private readonly openFiles = new Map<number, string>();
  private readonly pollers = new Set<{ callback: PollerCallback; fds: Set<number> }>();

  constructor(readonly root: string) {
    this.sysfs = new FakeSysfs(root, PI5_KERNEL_6_6);
  }

  private map(path: unknown): unknown {
    if (typeof path !== 'string' || !path.startsWith(ONOFF_ROOT)) return path;
    return join(this.root, path.slice(ONOFF_ROOT.length));
  }

  /** node:fs with onoff's paths moved under the fake root and the kernel's export files acted on. */
  fs(): typeof realFs {
    return {
      ...realFs,
      existsSync: (p: realFs.PathLike) => realFs.existsSync(this.map(p) as string),
      readFileSync: ((p: string, ...rest: never[]) =>
        realFs.readFileSync(this.map(p) as string, ...rest)) as typeof realFs.readFileSync,
      openSync: ((p: string, flags?: realFs.OpenMode) => {
        const mapped = this.map(p) as string;
        const fd = realFs.openSync(mapped, flags ?? 'r');
        this.openFiles.set(fd, resolve(mapped));
        return fd;
      }) as typeof realFs.openSync,
      closeSync: (fd: number) => {
        this.openFiles.delete(fd);
        realFs.closeSync(fd);
      },
      writeFileSync: ((p: string, data: string | Buffer) => {
        const mapped = this.map(p) as string;
        if (mapped === join(this.root, 'export')) {
          const gpio = Number(String(data));
          // The kernel refuses a line that is already exported (EBUSY).
          if (this.sysfs.isExported(gpio)) throw Object.assign(new Error('EBUSY'), { code: 'EBUSY' });
          this.exported.push(gpio);
          this.sysfs.createLine(gpio);
          return;
        }
        if (mapped === join(this.root, 'unexport')) {
          const gpio = Number(String(data));
          this.unexported.push(gpio);
          realFs.rmSync(join(this.root, `gpio${gpio}`), { recursive: true, force: true });
          return;
        }
        const direction = /gpio(\d+)\/direction$/.exec(mapped);
        if (direction) {
          // 'high'/'low' make an output and set its level in the same write; 'out' starts it low.
          const to = String(data);
          this.directionWrites.push([Number(direction[1]), to]);
          realFs.writeFileSync(mapped, to === 'in' ? 'in\n' : 'out\n');
          if (to !== 'in')
            realFs.writeFileSync(mapped.replace(/direction$/, 'value'), to === 'high' ? '1\n' : '0\n');
          return;
        }
        realFs.writeFileSync(mapped, data);
      }) as typeof realFs.writeFileSync,
    };
  }

  /** The `epoll` addon's Epoll class as onoff uses it: new Epoll(cb), add(fd, events), remove(fd). */
  epoll(): { Epoll: unknown } {
    const pollers = this.pollers;
    class Epoll {
      static readonly EPOLLPRI = 2;
      private readonly entry: { callback: PollerCallback; fds: Set<number> };
      constructor(callback: PollerCallback) {
        this.entry = { callback, fds: new Set() };
        pollers.add(this.entry);
      }
      add(fd: number, _events: number): this {
        this.entry.fds.add(fd);
        return this;
      }
      remove(fd: number): this {
        this.entry.fds.delete(fd);
        return this;
      }
      close(): this {
        pollers.delete(this.entry);
        return this;
      }
    }
    return { Epoll };
  }

  /** onoff's module, evaluated from its own file with this kernel's fs and epoll. */
  loadOnoff(): unknown {
    const file = require.resolve('onoff');
    const source = realFs.readFileSync(file, 'utf8');
    const module = { exports: {} as Record<string, unknown> };
    const localRequire = (id: string) => {
      if (id === 'fs') return this.fs();
      if (id === 'epoll') return this.epoll();
      return createRequire(file)(id);
    };
    new Function('require', 'module', 'exports', source)(localRequire, module, module.exports);
    return module.exports;
  }

  /** Drives an input pin; with an edge set, the kernel wakes every epoll waiting on its value file. */
  setLevel(gpio: number, level: 0 | 1): void {
    const previous = this.sysfs.read(gpio, 'value');
    this.sysfs.setLevel(gpio, level);
    const edge = this.sysfs.read(gpio, 'edge');
    const changed = previous !== String(level);
    const raises =
      changed &&
      (edge === 'both' || (edge === 'rising' && level === 1) || (edge === 'falling' && level === 0));
    if (raises) this.interrupt(gpio);
  }

  /** A pulse shorter than a read: the kernel raises POLLPRI, the value read afterwards is unchanged. */
  glitch(gpio: number): void {
    this.interrupt(gpio);
  }

  private interrupt(gpio: number): void {
    const valuePath = resolve(join(this.root, `gpio${gpio}`, 'value'));
    for (const poller of this.pollers) {
      for (const fd of poller.fds) {
        if (this.openFiles.get(fd) === valuePath) setImmediate(() => poller.callback(null, fd, 2));
      }
    }
  }
}
