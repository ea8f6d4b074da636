/**
 * `dorvakt check-config [--migrate] FILE`: every problem of a config in one pass, the migrations that
 * would apply, and with --migrate the migrated file written back (comments kept) after a backup.
 */
import {
  chmodSync,
  chownSync,
  constants,
  copyFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import type { ConfigInspection, ConfigProblem } from '../config/load.ts';
import { setVersion } from '../config/migrate.ts';

export interface MigratableConfig {
  /** Reads and fully checks a config file (migrated in memory). */
  inspect: (file: string) => Pick<ConfigInspection, 'problems' | 'fromVersion' | 'migrations' | 'doc'>;
  version: number;
  /** The command line that checks a file, for usage and hints. */
  checkCommand: (file: string, migrate: boolean) => string;
}

interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
  now?: () => Date;
}

export function runCheckConfig(args: string[], kind: MigratableConfig, io: Output): number {
  const migrate = args.includes('--migrate');
  const files = args.filter((a) => a !== '--migrate');
  const file = files[0];
  if (!file || files.length > 1 || files[0]!.startsWith('-')) {
    io.err(`usage: ${kind.checkCommand('FILE', false)} [--migrate]`);
    return 2;
  }
  const inspected = kind.inspect(file);
  const report = (problems: ConfigProblem[]) => {
    for (const p of problems) {
      const where = p.line === null ? file : `${file}:${p.line}`;
      const text = `${p.warning ? 'warning: ' : ''}${p.message}`;
      io.err(p.key ? `${where}: ${p.key}: ${text}` : `${where}: ${text}`);
    }
  };
  report(inspected.problems.filter((p) => p.warning));
  const found = { ...inspected, problems: inspected.problems.filter((p) => !p.warning) };
  const pending = found.fromVersion < kind.version || found.migrations.length > 0;
  if (!migrate) {
    for (const m of found.migrations) io.err(`${file}: migration to version ${m.version}: ${m.note}`);
    if (found.problems.length > 0) {
      report(found.problems);
      return 1;
    }
    if (pending) {
      io.out(
        `${file}: ok (version ${found.fromVersion}, read as version ${kind.version}; write it with: ${kind.checkCommand(file, true)})`,
      );
    } else io.out(`${file}: ok`);
    return 0;
  }
  if (found.problems.length > 0) {
    report(found.problems);
    io.err(`${file}: not migrated: fix the problems above first (the file is unchanged)`);
    return 1;
  }
  if (!pending) {
    io.out(`${file}: already version ${kind.version}; nothing to migrate`);
    return 0;
  }
  const stamp = (io.now?.() ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const backup = `${file}.bak-${stamp}`;
  // The backup keeps the file's mode (it may hold addresses and paths the operator keeps private).
  copyFileSync(file, backup, constants.COPYFILE_EXCL);
  setVersion(found.doc, kind.version);
  const text = found.doc.toString({ lineWidth: 0 });
  const tmp = `${file}.migrating-${process.pid}`;
  const before = statSync(file);
  writeFileSync(tmp, text, { flag: 'wx', mode: 0o600 });
  try {
    // Run as root on a root:dorvakt 0640 file, the new file must stay readable by the service.
    chownSync(tmp, before.uid, before.gid);
  } catch (error) {
    unlinkSync(tmp);
    io.err(
      `${file}: not migrated: cannot give the new file its owner ${before.uid}:${before.gid} (${(error as NodeJS.ErrnoException).code}); run as the file's owner or root`,
    );
    return 1;
  }
  chmodSync(tmp, before.mode & 0o7777);
  // The door reads this file at every start: replace it whole, never half-written.
  renameSync(tmp, file);
  const again = kind.inspect(file);
  if (again.problems.length > 0 || again.migrations.length > 0) {
    // Should not happen; put the original back rather than leave a file the door cannot read.
    copyFileSync(backup, file);
    report(again.problems);
    io.err(`${file}: the migrated file did not check; the original is back (copy in ${backup})`);
    return 1;
  }
  io.out(`${file}: migrated from version ${found.fromVersion} to ${kind.version} (backup: ${backup})`);
  for (const m of found.migrations) io.out(`  - ${m.note}`);
  if (found.migrations.length === 0) io.out('  version: set (no key needed changing)');
  return 0;
}
