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

/** The environment the unit sets (its `Environment=` lines), so benchmarks start the controller with it too. */
export function unitEnvironment(
  unit = new URL('../../systemd/dorvakt.service', import.meta.url),
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(unit, 'utf8').split('\n')) {
    if (!line.startsWith('Environment=')) continue;
    // systemd.exec: space-separated assignments, each optionally in double quotes.
    for (const word of line.slice('Environment='.length).match(/"[^"]*"|\S+/g) ?? []) {
      const assignment = word.startsWith('"') ? word.slice(1, -1) : word;
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

/** The unit's `Nice=` (0 when it sets none), so benchmarks start the controller at the priority it runs at. */
export function unitNice(unit = new URL('../../systemd/dorvakt.service', import.meta.url)): number {
  const line = readFileSync(unit, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Nice='));
  if (!line) return 0;
  const nice = Number(line.slice('Nice='.length).trim());
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) throw new Error(`unexpected ${line}`);
  return nice;
}

/** A command line through nice(1), as systemd's Nice= does it: set before the program starts, for every thread. */
export function withNice(nice: number, argv: string[]): string[] {
  return nice ? ['nice', '-n', String(nice), ...argv] : argv;
}
