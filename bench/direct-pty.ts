import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';

// Linux's generic ioctl numbers (the same on x86-64 and arm64): unlock the pty's other end, ask its number.
const TIOCSPTLCK = 0x40045431;
const TIOCGPTN = 0x80045430;
const UNLOCK_AND_NAME = `
import fcntl, struct
fcntl.ioctl(3, ${TIOCSPTLCK}, struct.pack('i', 0))
print(struct.unpack('I', fcntl.ioctl(3, ${TIOCGPTN}, b'\\0' * 4))[0])
`;

/**
 * A pseudo-terminal whose master end this process holds: bytes written here reach the reader's end through
 * the kernel alone, as a USB serial reader's do, with no relay process (socat) to be scheduled in between.
 * Node cannot make the ioctls unlockpt(3) and ptsname(3) make; a short Python child does, on the inherited fd.
 */
export function openDirectPty(): { devicePath: string; write(bytes: string): void; close(): void } {
  const master = openSync('/dev/ptmx', 'r+');
  const named = spawnSync('python3', ['-c', UNLOCK_AND_NAME], {
    stdio: ['ignore', 'pipe', 'pipe', master],
    encoding: 'utf8',
  });
  if (named.status !== 0) {
    closeSync(master);
    throw new Error(`could not unlock the pty: ${named.stderr || named.error?.message}`);
  }
  return {
    devicePath: `/dev/pts/${Number(named.stdout.trim())}`,
    write: (bytes) => void writeSync(master, Buffer.from(bytes, 'latin1')),
    close: () => closeSync(master),
  };
}
