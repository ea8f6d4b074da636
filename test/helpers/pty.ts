import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './ports.ts';
import { tempDir } from './tmp.ts';

/**
 * A real pseudo-terminal pair made by socat: the service opens `devicePath` like a serial
 * reader; the test writes bytes into `hostPath`, as the reader hardware would.
 */
export interface PtyPair {
  devicePath: string;
  hostPath: string;
  write(bytes: string | Uint8Array): void;
  /** Removes the pair (as if the reader were unplugged). */
  unplug(): Promise<void>;
  /** Creates it again at the same paths. */
  plug(): Promise<void>;
  close(): Promise<void>;
}

export function socatPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' }).trim() || fail();
  } catch {
    return fail();
  }
}
function fail(): never {
  throw new Error('socat is not installed (apt-get install socat); .ci/run installs it');
}

export async function createPtyPair(): Promise<PtyPair> {
  const bin = socatPath();
  const dir = tempDir('pty-');
  const devicePath = join(dir.path, 'reader');
  const hostPath = join(dir.path, 'host');
  let child: ChildProcess | undefined;
  let hostFd: number | undefined;

  const plug = async () => {
    // socat makes a link before it sets that pty raw: its "starting data transfer loop" notice (-d -d) comes
    // once both are set, so bytes written after it are not translated (a '\n' became '\r\n' in a race).
    child = spawn(bin, ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${hostPath}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let notices = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      if (notices.length < 10_000) notices += chunk.toString();
    });
    await waitFor(() => notices.includes('starting data transfer loop'), 5000, 'socat to set up both ptys');
    await waitFor(() => existsSync(devicePath) && existsSync(hostPath), 5000, 'socat pty links');
    hostFd = openSync(hostPath, 'w');
  };
  const unplug = async () => {
    if (hostFd !== undefined) closeSync(hostFd);
    hostFd = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await waitFor(() => !existsSync(devicePath), 5000, 'socat links removed');
  };
  await plug();
  return {
    devicePath,
    hostPath,
    write(bytes) {
      if (hostFd === undefined) throw new Error('pty is unplugged');
      writeSync(hostFd, typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    },
    plug,
    unplug,
    async close() {
      await unplug();
      dir.cleanup();
    },
  };
}
