/** Entry point: `dorvakt-nvr-agent --config FILE` on the recorder host. */
import { parseArgs } from 'node:util';
import { createLogger } from '../log/logger.ts';
import { startSystemdNotify } from '../ops/systemd-notify.ts';
import { NvrAgent } from './agent.ts';
import { runCheckConfig } from '../cli/check-config.ts';
import { inspectAgentConfigFile, loadAgentConfig } from './config.ts';
import { AGENT_CONFIG_VERSION } from './migrations.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      'check-config': { type: 'string' },
      migrate: { type: 'boolean' },
    },
  });
  const checkFile = values['check-config'];
  if (checkFile) process.exit(checkConfig(checkFile, values.migrate === true));
  if (values.help || !values.config) {
    process.stderr.write(
      'usage: dorvakt-nvr-agent --config FILE\n       dorvakt-nvr-agent --check-config FILE [--migrate]\n',
    );
    process.exit(values.help ? 0 : 2);
  }
  let config: ReturnType<typeof loadAgentConfig>;
  try {
    config = loadAgentConfig(values.config);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.log_level);
  const agent = new NvrAgent({ config, log });
  try {
    await agent.start();
  } catch (error) {
    log.fatal({ err: (error as Error).message }, 'cannot start');
    process.exit(1);
  }
  log.info({ recorder: config.recorder.kind }, 'nvr agent started');
  // systemd Type=notify: the watchdog checks that the event loop runs (no-op outside systemd).
  const notify = startSystemdNotify({ health: () => ({ ok: true, checks: {} }), log });
  notify?.ready('agent running');
  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping');
    notify?.stopping();
    agent.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** Every problem of the file; with --migrate, an older file written in the current version (after a backup). */
function checkConfig(file: string, migrate: boolean): number {
  return runCheckConfig(
    migrate ? [file, '--migrate'] : [file],
    {
      inspect: inspectAgentConfigFile,
      version: AGENT_CONFIG_VERSION,
      checkCommand: (f, m) => `dorvakt-nvr-agent --check-config ${f}${m ? ' --migrate' : ''}`,
    },
    { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) },
  );
}

await main();
