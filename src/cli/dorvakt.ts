import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { ConfigError } from '../config/errors.ts';
import type { ParseOptions } from '../config/load.ts';
import type { AppliedMigration } from '../config/migrate.ts';
import { buildId, loadConfigForStart } from '../config/start-cache.ts';
import type { DorvaktConfig } from '../config/types.ts';
import { createLogger } from '../log/logger.ts';
import { startService } from '../service.ts';

const USAGE = `usage:
  dorvakt --config FILE            run the door controller
  dorvakt check-config [--migrate] FILE   validate a config file (names the key and line of every error);
                                   --migrate writes an older file in the current version (after a backup)
  dorvakt demo                     run the demo (simulated door, pty reader, SIP2 simulator, local or embedded broker)
  dorvakt export open|close|renew|list|health --config FILE …   police exports and legal holds
  dorvakt user add|passwd|unlock|disable|enable|list … --config FILE   dashboard users
  dorvakt report|erase --card CARD … --config FILE                     GDPR access report / erasure for one card
  dorvakt consent sign|withdraw|status --card CARD … --config FILE     agreements and camera consent
  dorvakt patron add --card CARD … --config FILE                       the local patron registry
  dorvakt block add|list|remove … --config FILE                        the site's own block list
  dorvakt pass add|list|remove … --config FILE                         passes (cleaners, guards, institutions, temporary)
  dorvakt emergency set nobody|everybody|end|status … --config FILE    emergency mode
  dorvakt stats report --year YYYY [--out FILE] [--format no|dk] --config FILE   the national statistics as CSV
  dorvakt fleet --config FILE      run the fleet centre (every branch's doors, alarms and figures; docs/fleet.md)
  dorvakt fleet check --config FILE   validate a fleet config file
  dorvakt fleet report --year YYYY [--format no|dk] [--site ID] [--out FILE] --config FILE   national statistics of every branch
  dorvakt fleet user add|passwd|unlock|disable|enable|list … --config FILE   the fleet dashboard's users
  dorvakt ils-check …              ask the library system about one card (see: dorvakt ils-check --help)
  dorvakt fleet rules keygen|sign|publish …   the fleet's signed rules document (docs/fleet-rules.md)
  dorvakt osdp keyset --config FILE --door ID [--out KEY_FILE]   give an OSDP reader its own key (service stopped)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--config' || command === 'run') {
    const file = command === '--config' ? rest[0] : rest[rest.indexOf('--config') + 1];
    if (!file) return usage();
    let cacheError: Error | undefined;
    const { config, migrated, fromCache } = await loadConfigForStart(file, {
      cacheDir: process.env.CACHE_DIRECTORY,
      build: buildId(),
      absolutePath: resolve(file),
      // The YAML parser and the config's validator load only when the cache cannot answer.
      load: async (text) => {
        const { loadConfigText } = await import('../config/load.ts');
        const applied: AppliedMigration[] = [];
        return {
          config: loadConfigText(text, file, { onMigrated: (m) => applied.push(m) }),
          migrated: applied,
        };
      },
      onCacheError: (error) => {
        cacheError = error;
      },
    });
    const log = createLogger(config.log.level);
    log.info({ file, fromCache }, 'config loaded');
    if (cacheError)
      log.warn(
        { err: cacheError.message },
        'config cache not written; the next start reads the file in full',
      );
    for (const m of migrated) {
      log.warn(
        { key: m.key, version: m.version },
        `config migrated in memory: ${m.note} (write it with: dorvakt check-config --migrate ${file})`,
      );
    }
    // Handlers first: a SIGTERM that arrives while the service starts still stops it cleanly.
    let stopRequested: string | null = null;
    let service: Awaited<ReturnType<typeof startService>> | null = null;
    const stop = async (signal: string) => {
      log.info({ signal }, 'stopping');
      await service?.stop();
      process.exit(0);
    };
    const onSignal = (signal: string) => {
      stopRequested = signal;
      if (service) void stop(signal);
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    service = await startService({ config, log });
    if (stopRequested) await stop(stopRequested);
    return -1;
  }
  if (command === 'check-config') {
    // The full check loads the calendar libraries; the service itself never does (see schedule/compiler.ts).
    const { inspectConfigFile } = await import('../config/check.ts');
    const { runCheckConfig } = await import('./check-config.ts');
    const { CONFIG_VERSION } = await import('../config/migrations.ts');
    const checkCommand = (file: string, migrate: boolean) =>
      `dorvakt check-config ${migrate ? '--migrate ' : ''}${file}`;
    return runCheckConfig(
      rest,
      { inspect: inspectConfigFile, version: CONFIG_VERSION, checkCommand },
      { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) },
    );
  }
  if (command === 'export') {
    const file = option(rest, '--config');
    if (!file) return usage();
    const config = await loadConfig(file);
    const { runExportCommand } = await import('../nvr/cli.ts');
    const { openDb } = await import('../store/db.ts');
    const { NvrController } = await import('../nvr/controller.ts');
    const { Alarms } = await import('../alarms/alarms.ts');
    const { EventBus } = await import('../events/bus.ts');
    const log = createLogger('warn', pino.destination(2));
    let alarms: InstanceType<typeof Alarms> | undefined;
    // Writes the store only; the running service sends the request on its next tick.
    const code = await runExportCommand(withoutOption(rest, '--config'), {
      admin: () => {
        const db = openDb(config.store.path);
        alarms = new Alarms(db, new EventBus(), log);
        return new NvrController({ config: config.nvr, db, mqtt: null, alarms, log });
      },
      actor: `cli:${userInfo().username}`,
    });
    // An alarm row kept back while the service held the store's lock is written before the command exits.
    alarms?.flush();
    return code;
  }
  if (
    command === 'user' ||
    command === 'report' ||
    command === 'erase' ||
    command === 'consent' ||
    command === 'patron'
  ) {
    const file = option(rest, '--config');
    if (!file) return usage();
    const config = await loadConfig(file);
    const args = withoutOption(rest, '--config');
    const { openDb } = await import('../store/db.ts');
    const db = openDb(config.store.path);
    try {
      if (command === 'user') {
        const { runUserCommand } = await import('../web/users.ts');
        return await runUserCommand(args, { db, actor: `cli:${userInfo().username}` }, process.stdout);
      }
      const { cardHasher } = await import('../privacy/card-hash.ts');
      const { readSecret } = await import('../config/load.ts');
      const { localDate } = await import('../time/zone.ts');
      const hashCard = cardHasher(readSecret(config.secrets.card_hmac_key));
      const actor = `cli:${userInfo().username}`;
      const readStdin = () => readFileSync(0, 'utf8');
      if (command === 'report' || command === 'erase') {
        const { runReportCommand } = await import('../retention/cli.ts');
        return runReportCommand(
          [command, ...args],
          { db, hashCard, actor, timezone: config.site.timezone, language: config.site.language, readStdin },
          { stdout: process.stdout, stderr: process.stderr },
        );
      }
      const { runAdminCommand } = await import('./admin.ts');
      return runAdminCommand([command, ...args], {
        db,
        hashCard,
        doors: config.doors,
        actor,
        today: () => localDate(new Date(), config.site.timezone),
        readStdin,
        out: process.stdout,
        err: process.stderr,
      });
    } finally {
      db.close();
    }
  }
  if (command === 'osdp') {
    const file = option(rest, '--config');
    if (!file) return usage();
    const config = await loadConfig(file);
    const { runOsdpCommand } = await import('./osdp.ts');
    const { readSecret } = await import('../config/load.ts');
    return runOsdpCommand(withoutOption(rest, '--config'), {
      config,
      configFile: file,
      log: createLogger('warn', pino.destination(2)),
      readSecret: (ref) => readSecret(ref),
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
    });
  }
  if (command === 'block' || command === 'pass' || command === 'emergency') {
    const file = option(rest, '--config');
    if (!file) return usage();
    const config = await loadConfig(file);
    const args = withoutOption(rest, '--config');
    const { openDb } = await import('../store/db.ts');
    const db = openDb(config.store.path);
    const actor = `cli:${userInfo().username}`;
    try {
      if (command === 'emergency') {
        const { runEmergencyCommand } = await import('../emergency/cli.ts');
        const { localToUtc } = await import('../web/time.ts');
        return runEmergencyCommand(args, {
          db,
          actor,
          localToUtc: (date, time) => localToUtc(date, time, config.site.timezone),
          out: process.stdout,
          err: process.stderr,
        });
      }
      const { cardHasher } = await import('../privacy/card-hash.ts');
      const { readSecret } = await import('../config/load.ts');
      const { runLocalAccessCommand } = await import('../local-access/cli.ts');
      return runLocalAccessCommand([command, ...args], {
        db,
        hashCard: cardHasher(readSecret(config.secrets.card_hmac_key)),
        doors: config.doors,
        timezone: config.site.timezone,
        actor,
        readStdin: () => readFileSync(0, 'utf8'),
        out: process.stdout,
        err: process.stderr,
      });
    } finally {
      db.close();
    }
  }
  if (command === 'stats') {
    const file = option(rest, '--config');
    if (!file) return usage();
    const config = await loadConfig(file);
    const { openDb } = await import('../store/db.ts');
    const { runStatsCommand } = await import('../stats/cli.ts');
    const { localDate } = await import('../time/zone.ts');
    const db = openDb(config.store.path);
    try {
      return await runStatsCommand(withoutOption(rest, '--config'), {
        db,
        doors: config.doors,
        site: { timezone: config.site.timezone, country: config.site.country, region: config.site.region },
        thisYear: Number(localDate(new Date(), config.site.timezone).slice(0, 4)),
        out: process.stdout,
        err: process.stderr,
      });
    } finally {
      db.close();
    }
  }
  if (command === 'fleet' && rest[0] === 'rules') {
    const { runFleetRulesCommand } = await import('../fleet-rules/cli.ts');
    return runFleetRulesCommand(rest.slice(1), {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
    });
  }
  if (command === 'fleet') {
    const file = option(rest, '--config');
    if (!file) return usage();
    const { loadFleetConfig } = await import('../fleet/central-config.ts');
    const config = loadFleetConfig(file);
    const args = withoutOption(rest, '--config');
    if (args[0] === 'user') {
      const { openFleetDb } = await import('../fleet/central-store.ts');
      const { runUserCommand } = await import('../web/users.ts');
      const db = openFleetDb(config.store.path);
      try {
        return await runUserCommand(
          args.slice(1),
          { db, actor: `cli:${userInfo().username}` },
          process.stdout,
        );
      } finally {
        db.close();
      }
    }
    if (args[0] === 'report') {
      const { openFleetDb } = await import('../fleet/central-store.ts');
      const { runFleetReportCommand } = await import('../fleet/report.ts');
      const { localDate } = await import('../time/zone.ts');
      const db = openFleetDb(config.store.path);
      try {
        return await runFleetReportCommand(args.slice(1), {
          db,
          sites: config.sites.map((s) => s.id),
          timezone: config.timezone,
          language: config.language,
          thisYear: Number(localDate(new Date(), config.timezone).slice(0, 4)),
          out: process.stdout,
          err: process.stderr,
        });
      } finally {
        db.close();
      }
    }
    if (args[0] === 'check' && args.length === 1) {
      // Loading checked it (a problem has already thrown, naming its key).
      process.stdout.write(`${file}: ok (${config.sites.length} sites)\n`);
      return 0;
    }
    if (args.length > 0) return usage();
    const log = createLogger(config.log.level);
    const { startFleetService } = await import('../fleet/service.ts');
    const service = await startFleetService({ config, log });
    // systemd Type=notify: the watchdog checks that the event loop runs (no-op outside systemd).
    const { startSystemdNotify } = await import('../ops/systemd-notify.ts');
    const notify = startSystemdNotify({ health: () => ({ ok: true, checks: {} }), log });
    notify?.ready('fleet centre running');
    const stop = async (signal: string) => {
      log.info({ signal }, 'stopping');
      notify?.stopping();
      await service.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
    return -1;
  }
  if (command === 'ils-check') {
    const { runIlsCheck } = await import('./ils-check.ts');
    return runIlsCheck(rest, (line) => process.stdout.write(`${line}\n`));
  }
  if (command === 'demo') {
    const { runDemo } = await import('./demo.ts');
    await runDemo();
    return -1;
  }
  return usage();
}

/** The admin commands' load: a migration applied in memory is said on stderr, once per note. */
async function loadConfig(file: string, options: ParseOptions = {}): Promise<DorvaktConfig> {
  const { loadConfig: loadConfigFile } = await import('../config/load.ts');
  return loadConfigFile(file, {
    onMigrated: (m) =>
      process.stderr.write(
        `dorvakt: ${file}: read as version ${m.version}: ${m.note} (write it with: dorvakt check-config --migrate ${file})\n`,
      ),
    ...options,
  });
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function withoutOption(argv: string[], name: string): string[] {
  const i = argv.indexOf(name);
  return i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
}

function usage(): number {
  process.stderr.write(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      for (const p of error.problems) {
        process.stderr.write(`${error.file}:${p.line ?? '?'}: ${p.key || '(top)'}: ${p.message}\n`);
      }
      process.exit(1);
    }
    process.stderr.write(`dorvakt: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
