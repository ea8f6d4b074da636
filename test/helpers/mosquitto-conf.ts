import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { mosquittoPath } from './mosquitto.ts';
import { freePort, waitFor } from './ports.ts';

/**
 * A real Mosquitto with a config of the test's own (TLS listeners, password files, ACLs), in `dir`.
 * `conf(port)` returns the config text; the broker runs until `stop()`.
 */
export async function startMosquittoConf(
  dir: string,
  conf: (port: number) => string,
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const file = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(file, conf(port));
  // Mosquitto started as root drops to its own user before reading certificates and password files.
  const open = (path: string) => {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) open(join(path, entry.name));
      else chmodSync(join(path, entry.name), 0o644);
    }
  };
  open(dir);
  const child: ChildProcess = spawn(mosquittoPath(), ['-c', file], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null)
          throw new Error(`mosquitto exited with ${child.exitCode} (config ${file})`);
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    5000,
    `mosquitto on ${port}`,
  );
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** `mosquitto_passwd -b`: a password file with the given users (hashed by Mosquitto itself). */
export function mosquittoPasswd(file: string, users: Record<string, string>): void {
  let first = true;
  for (const [user, password] of Object.entries(users)) {
    execFileSync('mosquitto_passwd', [...(first ? ['-c'] : []), '-b', file, user, password], {
      stdio: 'pipe',
    });
    first = false;
  }
}

/**
 * A private CA, a server certificate for 127.0.0.1/localhost and client certificates (openssl CLI): `clients`
 * maps each file name (`<name>.pem`, `<name>.key`) to its CN; by default one `client` with CN `nvr-agent`.
 */
export function makePki(dir: string, clients: Record<string, string> = { client: 'nvr-agent' }): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Dorvakt test CA',
  );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const certs: [string, string, string[]][] = [
    ['server', 'localhost', ['-extfile', 'server.ext']],
    ...Object.entries(clients).map(([name, cn]): [string, string, string[]] => [name, cn, []]),
  ];
  for (const [name, cn, ext] of certs) {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      ...ext,
    );
  }
}
