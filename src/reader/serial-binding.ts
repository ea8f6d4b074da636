/**
 * The serialport binding with two changes on Linux/macOS:
 * - a read of 0 bytes (the tty hung up: USB reader unplugged, pty closed) is reported as a disconnect.
 *   The stock binding retries such reads forever at 100% CPU and never closes the port
 *   (serialport/bindings-cpp#162, unfixed in 13.x), so an unplugged reader would never reconnect. With
 *   vmin=1 a live tty never reads 0 bytes.
 * - reads and writes are made directly on the non-blocking descriptor (the binding opens it with
 *   O_NONBLOCK) instead of through libuv's thread pool: each stock read or write of a few bytes costs a
 *   thread hand-off both ways, and an OSDP bus does several per poll, many times a second. A read with
 *   nothing waiting, or a write the tty cannot take yet, waits for the binding's poller as before.
 */
import { readSync, writeSync } from 'node:fs';
// serialport's own parts, not its index: that loads every parser too, a cost on each start of the door.
import { autoDetect } from '@serialport/bindings-cpp';

type Binding = ReturnType<typeof autoDetect>;
type PortBinding = Awaited<ReturnType<Binding['open']>>;

/** What the unix port binding has beyond its public interface. */
interface UnixPortInternals {
  fd: number | null;
  poller: { once(event: 'readable' | 'writable', callback: (err?: Error) => void): unknown };
  /** What the binding's drain() waits for before tcdrain. */
  writeOperation: Promise<void> | null;
}

class BindingError extends Error {
  constructor(
    message: string,
    readonly canceled: boolean,
    readonly disconnect: boolean,
  ) {
    super(message);
  }
}

function waitFor(port: UnixPortInternals, event: 'readable' | 'writable'): Promise<void> {
  return new Promise((resolve, reject) => port.poller.once(event, (err) => (err ? reject(err) : resolve())));
}

const tryAgain = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR';
};

/** As the stock unixWrite: these codes mean the device is gone. */
function markDisconnect(err: unknown): void {
  const e = err as NodeJS.ErrnoException & { disconnect?: boolean };
  if (e.code === 'EBADF' || e.code === 'ENXIO' || e.code === 'UNKNOWN' || e.errno === -1) e.disconnect = true;
}

async function writeAll(port: PortBinding & UnixPortInternals, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    if (!port.isOpen || port.fd === null) throw new Error('Port is not open');
    try {
      offset += writeSync(port.fd, buffer, offset, buffer.length - offset);
    } catch (err) {
      if (!tryAgain(err)) {
        markDisconnect(err);
        throw err;
      }
      if (!port.isOpen) throw new Error('Port is not open');
      await waitFor(port, 'writable');
    }
  }
}

async function readNonEmpty(
  port: PortBinding & UnixPortInternals,
  buffer: Buffer,
  offset: number,
  length: number,
) {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw new BindingError('Port is not open', true, false);
    let bytesRead: number;
    try {
      bytesRead = readSync(port.fd, buffer, offset, length, null);
    } catch (err) {
      if (!tryAgain(err)) throw err;
      if (!port.isOpen) throw new BindingError('Port is not open', true, false);
      await waitFor(port, 'readable');
      continue;
    }
    if (bytesRead === 0) throw new BindingError('serial device hung up', false, true);
    return { buffer, bytesRead };
  }
}

/** The platform binding's two entry points (serialport's SerialPort.binding), without its per-platform option types. */
const base = autoDetect() as unknown as {
  list(): Promise<unknown[]>;
  open(options: unknown): Promise<PortBinding>;
};

/** SerialPort.binding, with hang-ups reported as disconnects where the binding is the unix one. */
export const hangupAwareBinding = {
  list: () => base.list(),
  async open(options: unknown): Promise<PortBinding> {
    const port = await base.open(options);
    const unix = port as PortBinding & Partial<UnixPortInternals>;
    if (typeof unix.fd === 'number' && unix.poller && typeof unix.poller.once === 'function') {
      const internals = unix as PortBinding & UnixPortInternals;
      unix.read = (buffer, offset, length) => readNonEmpty(internals, buffer, offset, length);
      unix.write = (buffer) => {
        if (!internals.isOpen) return Promise.reject(new Error('Port is not open'));
        internals.writeOperation = (async () => {
          if (buffer.length > 0) await writeAll(internals, buffer);
          internals.writeOperation = null;
        })();
        return internals.writeOperation;
      };
    }
    return port;
  },
} as unknown as Binding;
