/**
 * Runs the SIP2 simulator as its own process (manual tests, benchmarks, a demo on another machine):
 *   npx tsx src/ils/simulator-main.ts [--port 6001] [--host 127.0.0.1] [--encoding cp850]
 *       [--no-error-detection] [--user U --password W]
 * Prints `listening HOST:PORT`; reads commands on stdin: `fault MODE [DELAY_MS]`, `fault none`, `stats`.
 */
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { SipEncoding } from './config.ts';
import { type Sip2FaultMode, startSip2Simulator } from './simulator.ts';

export async function runSip2SimulatorMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      encoding: { type: 'string', default: 'cp850' },
      'no-error-detection': { type: 'boolean' },
      user: { type: 'string' },
      password: { type: 'string' },
    },
  });
  const sim = await startSip2Simulator({
    port: Number(values.port),
    host: values.host,
    encoding: values.encoding as SipEncoding,
    errorDetection: !values['no-error-detection'],
    user: values.user,
    password: values.password,
  });
  console.log(`listening ${sim.host}:${sim.port}`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, mode, delay] = line.trim().split(/\s+/);
    if (command === 'fault') {
      sim.setFault(
        !mode || mode === 'none'
          ? null
          : { mode: mode as Sip2FaultMode, delayMs: delay ? Number(delay) : undefined },
      );
      console.log(`fault ${mode ?? 'none'}`);
    } else if (command === 'stats') {
      const { received, ...counts } = sim.stats;
      console.log(JSON.stringify({ ...counts, received: received.length }));
    }
  });
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runSip2SimulatorMain(process.argv.slice(2));
}
