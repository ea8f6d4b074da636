/**
 * The serialport binding with one fix: on Linux/macOS a read of 0 bytes (the tty hung up: USB
 * reader unplugged, pty closed) is reported as a disconnect. The stock binding retries such reads
 * forever at 100% CPU and never closes the port (serialport/bindings-cpp#162, unfixed in 13.x),
 * so an unplugged reader would never reconnect. With vmin=1 a live tty never reads 0 bytes.
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';

const readAsync = promisify(read);

type Binding = typeof SerialPort.binding;
type PortBinding = Awaited<ReturnType<Binding['open']>>;

/** What the unix port binding has beyond its public interface. */
interface UnixPortInternals {
  fd: number | null;
  poller: { once(event: 'readable', callback: (err?: Error) => void): unknown };
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

function waitReadable(port: UnixPortInternals): Promise<void> {
  return new Promise((resolve, reject) =>
    port.poller.once('readable', (err) => (err ? reject(err) : resolve())),
  );
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
      ({ bytesRead } = await readAsync(port.fd, buffer, offset, length, null));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw err;
      if (!port.isOpen) throw new BindingError('Port is not open', true, false);
      await waitReadable(port);
      continue;
    }
    if (bytesRead === 0) throw new BindingError('serial device hung up', false, true);
    return { buffer, bytesRead };
  }
}

/** The platform binding's two entry points, without its per-platform option types. */
const base = SerialPort.binding as unknown as {
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
    }
    return port;
  },
} as unknown as Binding;
