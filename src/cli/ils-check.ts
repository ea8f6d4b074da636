/**
 * `dorvakt ils-check`: asks the library system about one card and shows the whole exchange, so an
 * installer sees it answer before trusting the door. PIN (AD) and passwords (CO, AC) are redacted.
 */
import { parseArgs } from 'node:util';
import { loadConfig, readSecret } from '../config/load.ts';
import type { SecretRef } from '../config/types.ts';
import { redactSip } from '../ils/codec.ts';
import { ilsConfigWithDefaults, type IlsConfig, type SipEncoding } from '../ils/config.ts';
import { Sip2Connection, SipError } from '../ils/connection.ts';
import {
  endSessionRequest,
  parsePatronReply,
  patronInformationRequest,
  patronStatusRequest,
} from '../ils/messages.ts';
import { connectionOptionsFrom } from '../ils/source.ts';
import { standingFromPatronInfo, verdictFromStanding } from '../ils/standing.ts';

export const ILS_CHECK_USAGE = [
  'usage: dorvakt ils-check --config FILE --card C [--pin P]',
  '       dorvakt ils-check --host H --port P [--user U --password W] --institution I [--location L]',
  '                         [--tls [--ca FILE] [--insecure]] [--encoding cp850|latin1|utf8]',
  '                         [--no-error-detection] [--message 63|23] --card C [--pin N]',
].join('\n');

/** Exit codes: 0 asked (whatever the verdict), 2 usage or config, 3 no connection, 4 login refused, 5 no answer. */
export async function runIlsCheck(argv: string[], out: (line: string) => void): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        institution: { type: 'string' },
        location: { type: 'string' },
        tls: { type: 'boolean' },
        ca: { type: 'string' },
        insecure: { type: 'boolean' },
        encoding: { type: 'string' },
        'no-error-detection': { type: 'boolean' },
        message: { type: 'string' },
        timeout: { type: 'string' },
        card: { type: 'string' },
        pin: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    out(`ils-check: ${(error as Error).message}`);
    out(ILS_CHECK_USAGE);
    return 2;
  }
  if (values.help) {
    out(ILS_CHECK_USAGE);
    return 0;
  }
  const card = values.card as string | undefined;
  const pin = values.pin as string | undefined;
  if (!card) {
    out('ils-check: --card is required');
    out(ILS_CHECK_USAGE);
    return 2;
  }

  let config: IlsConfig;
  let secret: (ref: SecretRef) => string = (ref) => readSecret(ref);
  try {
    if (values.config) {
      const loaded = loadConfig(values.config as string);
      if (!loaded.ils) throw new Error(`${values.config as string}: no "ils" section`);
      config = loaded.ils;
    } else {
      const host = values.host as string | undefined;
      const port = Number(values.port);
      if (!host || !Number.isInteger(port) || port < 1 || port > 65535 || values.institution === undefined) {
        throw new Error('give --config FILE, or --host, --port and --institution');
      }
      const encoding = (values.encoding ?? 'cp850') as SipEncoding;
      if (!['cp850', 'latin1', 'utf8'].includes(encoding))
        throw new Error('--encoding must be cp850, latin1 or utf8');
      const message = Number(values.message ?? 63);
      if (message !== 63 && message !== 23) throw new Error('--message must be 63 or 23');
      const password = (values.password as string | undefined) ?? '';
      secret = () => password;
      config = ilsConfigWithDefaults({
        host,
        port,
        institution: values.institution as string,
        user: (values.user as string | undefined) ?? '',
        // Placeholder ref: `secret` above answers it with the flag's value.
        password: values.password !== undefined ? { env: 'ILS_CHECK_PASSWORD' } : undefined,
        location: (values.location as string | undefined) ?? '',
        encoding,
        message,
        error_detection: !values['no-error-detection'],
        tls: {
          enabled: Boolean(values.tls),
          ca_file: values.ca as string | undefined,
          reject_unauthorized: !values.insecure,
        },
      });
    }
    if (values.timeout !== undefined) {
      const ms = Number(values.timeout);
      if (!Number.isInteger(ms) || ms < 100) throw new Error('--timeout must be milliseconds (≥ 100)');
      config.connect_timeout_ms = config.request_timeout_ms = ms;
    }
  } catch (error) {
    out(`ils-check: ${(error as Error).message}`);
    return 2;
  }

  let options: ReturnType<typeof connectionOptionsFrom>;
  try {
    options = connectionOptionsFrom(config, secret, (direction, text) => {
      const arrow = direction === 'send' ? '→' : direction === 'recv' ? '←' : '·';
      out(`${arrow} ${direction === 'ignored' ? 'ignored: ' : ''}${redactSip(text)}`);
    });
  } catch (error) {
    out(`ils-check: ${(error as Error).message}`);
    return 2;
  }
  const terminalPassword = config.terminal_password ? secret(config.terminal_password) : '';

  out(
    `ils-check: ${config.tls.enabled ? 'tls' : 'tcp'} ${config.host}:${config.port}, ${config.encoding}, ` +
      `error detection ${config.error_detection ? 'on' : 'off'}, message ${config.message}`,
  );
  let connection: Sip2Connection;
  try {
    connection = await Sip2Connection.open(options);
  } catch (error) {
    const kind = error instanceof SipError ? error.kind : 'connect';
    out(
      `ils-check: ${kind === 'login' ? 'could not log in' : 'could not connect'}: ${(error as Error).message}`,
    );
    return kind === 'login' ? 4 : kind === 'connect' ? 3 : 5;
  }
  try {
    const status = connection.acsStatus;
    if (status) {
      out(
        `library system: online=${status.online ? 'yes' : 'no'} protocol=${status.protocolVersion} ` +
          `retries=${status.retriesAllowed ?? 'unknown'}`,
      );
    }
    const request =
      config.message === 23
        ? patronStatusRequest(config.institution, card, terminalPassword, pin)
        : patronInformationRequest(config.institution, card, terminalPassword, pin);
    const reply = parsePatronReply(await connection.request(request));
    if (config.end_session)
      await connection.request(endSessionRequest(config.institution, card, terminalPassword));
    const standing = standingFromPatronInfo(reply, config, pin !== undefined);
    const yn = (b: boolean) => (b ? 'yes' : 'no');
    out(`patron status: [${reply.patronStatus}]`);
    out(
      `patron: known=${yn(standing.known)} pin=${standing.pinOk === null ? 'not checked' : standing.pinOk ? 'ok' : 'wrong'} ` +
        `blocked=${yn(standing.blocked)} card_lost=${yn(standing.cardLost)} expired=${yn(standing.expired)} ` +
        `fines=${yn(standing.finesExceeded)} category=${standing.category ?? '-'} birth_year=${standing.birthYear ?? '-'}`,
    );
    out(verdictFromStanding(standing, pin !== undefined));
    return 0;
  } catch (error) {
    out(`ils-check: no answer to the patron request: ${(error as Error).message}`);
    return 5;
  } finally {
    connection.close();
  }
}
