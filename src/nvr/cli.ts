/** `dorvakt export open|close|renew|list|health`: the admin's way to police exports and legal holds. */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { type ExportCase, ExportRefused, type NvrAdmin } from '../contract/nvr-admin.ts';

export interface ExportCliDeps {
  /** The controller, or a way to build one (in the CLI process: on the service's database, mqtt null). */
  admin: NvrAdmin | (() => NvrAdmin | Promise<NvrAdmin>);
  /** Who acts; default `cli:<os user>`. */
  actor?: string;
}

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const stdio: CliOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export const EXPORT_USAGE = `usage:
  dorvakt export open --case NUMBER --authority NAME --from ISO --to ISO --reason TEXT [--camera NAME]... [--json]
  dorvakt export close ID --reason TEXT [--json]
  dorvakt export renew ID --reason TEXT [--json]
  dorvakt export list [--json]
  dorvakt export health [--json]
Times are ISO-8601 with a zone (2026-11-26T08:00:00Z). No --camera means every camera.`;

const options = {
  case: { type: 'string' },
  authority: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  reason: { type: 'string' },
  camera: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Returns the exit code: 0 done, 1 refused (message on err), 2 usage. */
export async function runExportCommand(
  argv: string[],
  deps: ExportCliDeps,
  io: CliOutput = stdio,
): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (error) {
    io.err((error as Error).message);
    io.err(EXPORT_USAGE);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, id, ...extra] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(EXPORT_USAGE);
    return values.help ? 0 : 2;
  }
  const actor = deps.actor ?? `cli:${safeUser()}`;
  const usage = (why: string) => {
    io.err(why);
    io.err(EXPORT_USAGE);
    return 2;
  };
  const show = (c: ExportCase) =>
    values.json ? io.out(JSON.stringify(c, null, 2)) : io.out(describeCase(c));

  try {
    const admin = typeof deps.admin === 'function' ? await deps.admin() : deps.admin;
    switch (command) {
      case 'open': {
        if (id || extra.length) return usage('open takes no positional arguments');
        const missing = (['case', 'authority', 'from', 'to', 'reason'] as const).filter((k) => !values[k]);
        if (missing.length) return usage(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
        const c = admin.openExport({
          caseNumber: values.case!,
          authority: values.authority!,
          from: values.from!,
          to: values.to!,
          cameras: values.camera ?? [],
          reason: values.reason!,
          actor,
        });
        if (!values.json) io.out('Export opened; the window is on hold from now on.');
        show(c);
        return 0;
      }
      case 'close':
      case 'renew': {
        if (!id || extra.length) return usage(`${command} takes exactly one export id`);
        if (!values.reason) return usage('missing --reason');
        const c =
          command === 'close'
            ? admin.closeExport(id, actor, values.reason)
            : admin.renewHold(id, actor, values.reason);
        if (!values.json)
          io.out(command === 'close' ? 'Export closed; the hold has ended.' : 'Hold renewed.');
        show(c);
        return 0;
      }
      case 'list': {
        const cases = admin.listExports();
        if (values.json) io.out(JSON.stringify(cases, null, 2));
        else if (cases.length === 0) io.out('No export cases.');
        else for (const c of cases) io.out(describeCase(c));
        return 0;
      }
      case 'health': {
        const h = admin.health();
        if (values.json) io.out(JSON.stringify(h, null, 2));
        else {
          io.out(`retention ${h.retentionDays} days; oldest footage ${h.oldest ?? 'none'}`);
          io.out(
            `last purge requested ${h.lastPurgeRequestAt ?? 'never'}, answered ${h.lastPurgeAnsweredAt ?? 'never'}`,
          );
          io.out(
            `pending requests ${h.pendingRequests}; breach ${h.breach ? 'YES' : 'no'}; unreachable ${h.unreachable ? 'YES' : 'no'}; forgery ${h.forgery ? 'YES' : 'no'}`,
          );
          if (h.recorder) io.out(`recorder ${h.recorder.note}`);
          io.out(h.findings.length === 0 ? 'findings none' : `findings ${h.findings.length}:`);
          for (const f of h.findings) {
            const extra = [
              f.camera && !f.detail.includes(f.camera) ? `camera ${f.camera}` : '',
              f.count !== undefined ? `${f.count} files` : '',
              f.oldest ? `oldest ${f.oldest}` : '',
            ].filter(Boolean);
            io.out(`  ${f.kind}: ${f.detail}${extra.length ? ` (${extra.join('; ')})` : ''}`);
          }
          if (h.skipped.length > 0) io.out(`not checked ${h.skipped.length}:`);
          for (const p of h.skipped) io.out(`  ${p.path}: ${p.why}`);
        }
        return 0;
      }
      default:
        return usage(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof ExportRefused) {
      io.err(`refused: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

export function describeCase(c: ExportCase): string {
  const lines = [
    `${c.id}  case ${c.caseNumber}  ${c.state}`,
    `  authority ${c.authority}; window ${c.from} – ${c.to}; cameras ${c.cameras.length ? c.cameras.join(', ') : 'all'}`,
    `  opened ${c.openedAt} by ${c.openedBy}; hold until ${c.holdExpiresAt}${c.closedAt ? `; closed ${c.closedAt}` : ''}`,
  ];
  if (c.location) lines.push(`  location ${c.location}; ${c.files ?? 0} files; manifest sha256 ${c.sha256}`);
  if (c.error) lines.push(`  error ${c.error}`);
  return lines.join('\n');
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
