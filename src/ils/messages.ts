/** Builders and parsers for the SIP2 messages Dørvakt speaks (3M SIP2 2.00). */
import { field, formatSipDate, type SipMessage } from './codec.ts';

const LANGUAGE_UNKNOWN = '000';
const yn = (value: string | undefined) =>
  value === undefined ? undefined : value.trim().toUpperCase() === 'Y';

export function loginRequest(user: string, password: string, location: string): SipMessage {
  // UID/PWD algorithms '0' = not encrypted.
  return {
    code: '93',
    fixed: '00',
    fields: [
      ['CN', user],
      ['CO', password],
      ['CP', location],
    ],
  };
}

export function scStatusRequest(): SipMessage {
  // Status 0 = SC OK, print width 080, protocol 2.00.
  return { code: '99', fixed: '0' + '080' + '2.00', fields: [] };
}

export function patronInformationRequest(
  institution: string,
  card: string,
  terminalPassword: string,
  pin: string | undefined,
  now = new Date(),
): SipMessage {
  const fields: Array<[string, string]> = [
    ['AO', institution],
    ['AA', card],
    ['AC', terminalPassword],
  ];
  if (pin !== undefined) fields.push(['AD', pin]);
  // Summary: all ten positions blank — no item lists wanted.
  return { code: '63', fixed: LANGUAGE_UNKNOWN + formatSipDate(now) + ' '.repeat(10), fields };
}

export function patronStatusRequest(
  institution: string,
  card: string,
  terminalPassword: string,
  pin: string | undefined,
  now = new Date(),
): SipMessage {
  return {
    code: '23',
    fixed: LANGUAGE_UNKNOWN + formatSipDate(now),
    fields: [
      ['AO', institution],
      ['AA', card],
      ['AC', terminalPassword],
      ['AD', pin ?? ''],
    ],
  };
}

export function endSessionRequest(
  institution: string,
  card: string,
  terminalPassword: string,
  now = new Date(),
): SipMessage {
  return {
    code: '35',
    fixed: formatSipDate(now),
    fields: [
      ['AO', institution],
      ['AA', card],
      ['AC', terminalPassword],
    ],
  };
}

/** 96: the ACS asks the SC to resend; 97: the SC asks the ACS to resend. */
export const requestScResend = (): SipMessage => ({ code: '96', fixed: '', fields: [] });
export const requestAcsResend = (): SipMessage => ({ code: '97', fixed: '', fields: [] });

export interface LoginResponse {
  ok: boolean;
}

export function parseLoginResponse(message: SipMessage): LoginResponse {
  return { ok: message.fixed === '1' };
}

export interface AcsStatus {
  online: boolean;
  /** Retries the SC may make for one transaction; null when the server says 999 (unknown). */
  retriesAllowed: number | null;
  /** Server timeout in seconds; null when 000 (none) or 999 (unknown). */
  timeoutSeconds: number | null;
  protocolVersion: string;
  institution: string | undefined;
}

export function parseAcsStatus(message: SipMessage): AcsStatus {
  const f = message.fixed;
  const timeout = Number(f.slice(6, 9));
  const retries = Number(f.slice(9, 12));
  return {
    online: f[0] === 'Y',
    timeoutSeconds: Number.isInteger(timeout) && timeout !== 0 && timeout !== 999 ? timeout / 10 : null,
    retriesAllowed: Number.isInteger(retries) && retries !== 999 ? retries : null,
    protocolVersion: f.slice(30, 34),
    institution: field(message, 'AO'),
  };
}

/** The parts of a 64 or 24 reply the door needs. Names (AE) are deliberately not carried. */
export interface PatronInfoReply {
  /** The 14-character patron status; 'Y' in a position means that restriction applies. */
  patronStatus: string;
  fields: Array<[string, string]>;
  /** AA as echoed by the server. */
  card: string | undefined;
}

export function parsePatronReply(message: SipMessage): PatronInfoReply {
  return {
    patronStatus: message.fixed.slice(0, 14),
    fields: message.fields.filter(([tag]) => tag !== 'AE'),
    card: field(message, 'AA'),
  };
}

export function replyField(reply: PatronInfoReply, tag: string): string | undefined {
  return reply.fields.find(([t]) => t === tag)?.[1];
}

export const replyFlag = (reply: PatronInfoReply, tag: string): boolean | undefined =>
  yn(replyField(reply, tag));

/** Which reply code answers which request code. */
export const REPLY_TO: Record<string, string> = {
  '93': '94',
  '99': '98',
  '63': '64',
  '23': '24',
  '35': '36',
};
