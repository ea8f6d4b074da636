import { readFileSync } from 'node:fs';

/**
 * The Node flags the systemd unit starts the controller with (between `node` and the script in
 * ExecStart=), so benchmarks and deploy tests run it exactly as shipped.
 */
export function unitNodeFlags(unit = new URL('../../systemd/dorvakt.service', import.meta.url)): string[] {
  const line = readFileSync(unit, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error(`${unit.pathname}: no ExecStart=`);
  const words = line.slice('ExecStart='.length).trim().split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('.js'));
  if (!words[0]?.endsWith('/node') || script < 1) throw new Error(`unexpected ExecStart: ${line}`);
  return words.slice(1, script);
}
