import { closeSync, openSync, writeSync } from 'node:fs';

/** Writes `path` until the filesystem is full (ENOSPC); returns the bytes written. */
export function fill(path: string): number {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 0x55);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
    // The last partial block: byte by byte is too slow, halve the chunk instead.
    for (let size = 32 * 1024; size >= 1; size = Math.floor(size / 2)) {
      try {
        for (;;) written += writeSync(fd, block.subarray(0, size));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
