import { readFileSync, writeFileSync } from 'node:fs';
import { parseCommandFlags } from '../cli/command-args.ts';
import type { Db } from '../store/db.ts';
import { accessReport, eraseCard, type ReportLanguage, renderAccessReportHtml } from './report.ts';

export interface ReportCommandDeps {
  db: Db;
  /** The site's card hasher (src/privacy/card-hash.ts cardHasher(key)). */
  hashCard: (card: string) => string;
  /** Audit actor, e.g. 'cli:' + the OS user. */
  actor: string;
  /** Site time zone (statistics buckets for erased entries, times on the printable page). */
  timezone?: string;
  /** Default page language (config site.language). */
  language?: ReportLanguage;
  /** For `--card -`: the card number read from stdin, so it stays out of shell history. */
  readStdin?: () => string;
  writeFile?: (path: string, data: string) => void;
}

export interface CommandOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export const REPORT_USAGE = `usage:
  dorvakt report --card CARD|- [--html FILE] [--lang nb|da|en] [--reason TEXT]
      prints the GDPR access report for one card as JSON (and writes a printable page)
  dorvakt erase --card CARD|- --reason TEXT
      erases every identified record of one card (entries become anonymous statistics)
  CARD '-' reads the card number from stdin.
`;

/**
 * `dorvakt report …` and `dorvakt erase …`; argv starts with the command name. Returns the exit code
 * (0 done, 1 failed, 2 usage). The card number itself is only hashed, never printed or stored.
 */
export function runReportCommand(argv: string[], deps: ReportCommandDeps, out: CommandOutput): number {
  const [command, ...rest] = argv;
  if (command !== 'report' && command !== 'erase') {
    out.stderr.write(REPORT_USAGE);
    return 2;
  }
  const parsed = parseCommandFlags<{ card?: string; html?: string; lang?: string; reason?: string }>(
    rest,
    {
      card: { type: 'string' },
      html: { type: 'string' },
      lang: { type: 'string' },
      reason: { type: 'string' },
    },
    REPORT_USAGE,
    { out: out.stdout, err: out.stderr },
  );
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  let card = values.card;
  if (card === '-') card = (deps.readStdin ?? (() => readFileSync(0, 'utf8')))().split(/\r?\n/)[0];
  if (!card?.trim()) {
    out.stderr.write(`--card is required\n${REPORT_USAGE}`);
    return 2;
  }
  const lang = (values.lang ?? deps.language ?? 'nb') as ReportLanguage;
  if (!['nb', 'da', 'en'].includes(lang)) {
    out.stderr.write(`--lang must be nb, da or en\n`);
    return 2;
  }
  const cardHash = deps.hashCard(card);

  try {
    if (command === 'report') {
      if (values.html !== undefined && !values.html) {
        out.stderr.write('--html needs a file name\n');
        return 2;
      }
      const report = accessReport(deps.db, cardHash, { actor: deps.actor, reason: values.reason });
      if (values.html) {
        (deps.writeFile ?? ((p, d) => writeFileSync(p, d, { mode: 0o600 })))(
          values.html,
          renderAccessReportHtml(report, lang, deps.timezone),
        );
      }
      out.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    if (!values.reason?.trim()) {
      out.stderr.write(`erase needs --reason\n${REPORT_USAGE}`);
      return 2;
    }
    const result = eraseCard(deps.db, cardHash, deps.actor, values.reason, { timezone: deps.timezone });
    out.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    out.stderr.write(`${command} failed: ${(error as Error).message}\n`);
    return 1;
  }
}
