import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort, waitFor } from './ports.ts';
import { tempDir } from './tmp.ts';

/** A real Mosquitto broker on a free loopback port. A missing mosquitto fails loudly. */
export interface Broker {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Kill -9 and start again on the same port (for outage tests). */
  restart(downMs?: number): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing is answered (a hung broker). `resume()` undoes it. */
  pause(): void;
  resume(): void;
}

export function mosquittoPath(): string {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    try {
      execFileSync(candidate, ['-h'], { stdio: 'ignore' });
      return candidate;
    } catch (error) {
      // mosquitto -h exits 3 but exists; ENOENT means missing.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return candidate;
    }
  }
  throw new Error('mosquitto is not installed (apt-get install mosquitto); .ci/run installs it');
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startMosquitto(): Promise<Broker> {
  const bin = mosquittoPath();
  const port = await freePort();
  const dir = tempDir('mosquitto-');
  const conf = join(dir.path, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest none', ''].join(
      '\n',
    ),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(bin, ['-c', conf], { stdio: 'ignore' });
    await waitFor(() => listening(port), 5000, `mosquitto on ${port}`);
  };
  const kill = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    start,
    kill,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async restart(downMs = 200) {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async stop() {
      await kill();
      dir.cleanup();
    },
  };
}
