import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * A real $NOTIFY_SOCKET, as systemd makes it: a unix datagram socket bound by a separate process
 * (python3), which prints every datagram it receives as one JSON line.
 */
export interface NotifySocket {
  path: string;
  /** Datagrams received so far, in order. */
  datagrams: string[];
  /** Every assignment received (datagrams split into lines), in order. */
  assignments(): string[];
  close(): Promise<void>;
}

const RECEIVER = `
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = sys.argv[1]
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
print(json.dumps("bound"), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode()), flush=True)
`;

/** `abstract`: a Linux abstract-namespace address (`@name`), as systemd also hands out. */
export async function startNotifySocket(abstract = false): Promise<NotifySocket> {
  const dir = tempDir('notify-');
  const path = abstract ? `@dorvakt-test-${process.pid}-${Date.now()}` : join(dir.path, 'notify.sock');
  const datagrams: string[] = [];
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  let bound = false;
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const value = JSON.parse(line) as string;
      if (!bound && value === 'bound') bound = true;
      else datagrams.push(value);
    }
  });
  await waitFor(() => bound && (abstract || existsSync(path)), 5000, 'notify socket bound');
  return {
    path,
    datagrams,
    assignments: () => datagrams.flatMap((d) => d.split('\n')).filter((l) => l !== ''),
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      dir.cleanup();
    },
  };
}
