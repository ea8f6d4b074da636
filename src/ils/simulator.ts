/**
 * A SIP2 server (the library system's side, the "ACS") for the demo and the tests: configured
 * patrons, cp850/latin1/utf8, error detection on or off, and fault modes settable at runtime.
 */
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { decodeFrame, encodeFrame, FrameSplitter, field, formatSipDate, type SipMessage } from './codec.ts';
import type { SipEncoding } from './config.ts';

export interface Sip2SimPatron {
  card: string;
  pin: string;
  name: string;
  /** Patron category as sent in the category field (PC). */
  category?: string | undefined;
  /** YYYYMMDD, sent in PB. */
  birthDate?: string | undefined;
  /** YYYYMMDD, sent in PA. */
  expires?: string | undefined;
  blocked?: boolean | undefined;
  cardLost?: boolean | undefined;
  /** Fee amount owed (BV). */
  fines?: number | undefined;
}

const thisYear = new Date().getFullYear();

/**
 * Stable demo cards (docs/sip2.md). A wrong PIN is any other PIN; an unknown card is any other
 * number (e.g. 99999999).
 */
export const DEMO_SIP2_PATRONS: readonly Sip2SimPatron[] = Object.freeze([
  {
    card: '10000001',
    pin: '1234',
    name: 'Kari Nordmann',
    category: 'V',
    birthDate: '19850314',
    expires: '20991231',
  },
  {
    card: '10000002',
    pin: '2345',
    name: 'Ola Hansen',
    category: 'V',
    birthDate: '19790802',
    expires: '20991231',
  },
  {
    card: '10000003',
    pin: '3456',
    name: 'Per Sperret',
    category: 'V',
    birthDate: '19900101',
    expires: '20991231',
    blocked: true,
    fines: 450,
  },
  {
    card: '10000004',
    pin: '4567',
    name: 'Lise Liten',
    category: 'B',
    birthDate: `${thisYear - 10}0101`,
    expires: '20991231',
  },
  {
    card: '10000005',
    pin: '5678',
    name: 'Tor Tapt',
    category: 'V',
    birthDate: '19700505',
    expires: '20991231',
    cardLost: true,
  },
  {
    card: '10000006',
    pin: '6789',
    name: 'Eva Utløpt',
    category: 'V',
    birthDate: '19650909',
    expires: '20200131',
  },
  {
    card: '10000007',
    pin: '7890',
    name: 'Åse Ødegård Æbelø',
    category: 'V',
    birthDate: '19921224',
    expires: '20991231',
  },
]);

export type Sip2FaultMode =
  | 'slow' // answer after delayMs
  | 'silent' // never answer
  | 'drop' // close the connection instead of answering
  | 'garbage' // random bytes instead of an answer
  | 'bad_checksum' // the right answer with a wrong checksum
  | 'crlf' // terminate answers with \r\n (Koha's default)
  | 'request_resend' // answer 96: "please resend"
  | 'stale_seq' // first the previous answer again with the wrong AY, then the right one
  | 'refuse_login' // 94 with ok=0
  | 'down'; // refuse every connection (closed at once)

export interface Sip2Fault {
  mode: Sip2FaultMode;
  /** How many answers the fault hits before it clears itself; unlimited when unset. */
  times?: number | undefined;
  /** Request codes it applies to (e.g. ['63']); all when unset. */
  only?: string[] | undefined;
  /** For 'slow'. */
  delayMs?: number | undefined;
}

export interface Sip2SimulatorOptions {
  port?: number | undefined;
  host?: string | undefined;
  encoding?: SipEncoding | undefined;
  errorDetection?: boolean | undefined;
  patrons?: readonly Sip2SimPatron[] | undefined;
  fault?: Sip2Fault | null | undefined;
  /** When set, 93 must carry this user and password, and patron requests need a login first. */
  user?: string | undefined;
  password?: string | undefined;
  institution?: string | undefined;
  /** Retries allowed, sent in 98 (999 = unknown). */
  retriesAllowed?: number | undefined;
  /** Serve TLS; requestCert makes the client certificate mandatory (verified against ca). */
  tls?:
    | { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer | undefined; requestCert?: boolean }
    | undefined;
}

export interface Sip2SimStats {
  connections: number;
  logins: number;
  patronRequests: number;
  /** 97 requests received from the client. */
  resendRequests: number;
  /** Message codes received, in order. */
  received: string[];
}

export interface Sip2Simulator {
  readonly host: string;
  readonly port: number;
  readonly encoding: SipEncoding;
  readonly errorDetection: boolean;
  readonly stats: Sip2SimStats;
  setFault(fault: Sip2Fault | null): void;
  readonly fault: Sip2Fault | null;
  close(): Promise<void>;
}

interface ConnectionState {
  socket: Socket;
  loggedIn: boolean;
  /** Last good answer, for a 97 resend. */
  last: { message: SipMessage; seq: number | null; requestCode: string } | null;
}

export async function startSip2Simulator(options: Sip2SimulatorOptions = {}): Promise<Sip2Simulator> {
  const encoding = options.encoding ?? 'cp850';
  const errorDetection = options.errorDetection ?? true;
  const institution = options.institution ?? 'DEMO';
  const patrons = new Map((options.patrons ?? DEMO_SIP2_PATRONS).map((p) => [p.card, p]));
  const stats: Sip2SimStats = {
    connections: 0,
    logins: 0,
    patronRequests: 0,
    resendRequests: 0,
    received: [],
  };
  const sockets = new Set<Socket>();
  let fault: Sip2Fault | null = options.fault ?? null;

  /** The active fault for a request code, consuming one of its `times`. */
  const takeFault = (code: string, modes: Sip2FaultMode[]): Sip2Fault | null => {
    const f = fault;
    if (!f || !modes.includes(f.mode) || (f.only && !f.only.includes(code))) return null;
    if (f.times !== undefined) {
      f.times--;
      if (f.times <= 0) fault = null;
    }
    return f;
  };

  const write = (
    state: ConnectionState,
    message: SipMessage,
    seq: number | null,
    requestCode: string,
    previous: SipMessage = message,
  ) => {
    const crlf = takeFault(requestCode, ['crlf']);
    const terminator = crlf ? '\r\n' : '\r';
    const frame = encodeFrame(message, { encoding, errorDetection, seq: seq ?? 0, terminator });
    const f = takeFault(requestCode, [
      'slow',
      'silent',
      'drop',
      'garbage',
      'bad_checksum',
      'request_resend',
      'stale_seq',
    ]);
    if (!f) return void state.socket.write(frame);
    switch (f.mode) {
      case 'silent':
        return;
      case 'drop':
        return void state.socket.destroy();
      case 'slow':
        setTimeout(() => state.socket.writable && state.socket.write(frame), f.delayMs ?? 2000);
        return;
      case 'garbage': {
        const junk = randomBytes(24).map((b) => (b === 0x0d || b === 0x0a ? 0x21 : b));
        return void state.socket.write(Buffer.concat([junk, Buffer.from(terminator)]));
      }
      case 'bad_checksum': {
        const bad = Buffer.from(frame);
        const at = bad.length - terminator.length - 1;
        bad[at] = bad[at] === 0x30 ? 0x31 : 0x30;
        return void state.socket.write(bad);
      }
      case 'request_resend':
        return void state.socket.write(
          encodeFrame({ code: '96', fixed: '', fields: [] }, { encoding, errorDetection, terminator }),
        );
      case 'stale_seq': {
        // A late answer to the previous request, as a slow server would send it.
        const stale = encodeFrame(previous, {
          encoding,
          errorDetection,
          seq: ((seq ?? 0) + 9) % 10,
          terminator,
        });
        return void state.socket.write(Buffer.concat([stale, frame]));
      }
    }
  };

  const patronFields = (patron: Sip2SimPatron | undefined, card: string, pin: string | undefined) => {
    const fields: Array<[string, string]> = [
      ['AO', institution],
      ['AA', card],
      ['AE', patron?.name ?? ''],
    ];
    fields.push(['BL', patron ? 'Y' : 'N']);
    if (pin !== undefined && pin !== '') fields.push(['CQ', patron && patron.pin === pin ? 'Y' : 'N']);
    if (patron) {
      fields.push(['BH', 'NOK'], ['BV', (patron.fines ?? 0).toFixed(2)]);
      if (patron.expires) fields.push(['PA', patron.expires]);
      if (patron.birthDate) fields.push(['PB', patron.birthDate]);
      if (patron.category) fields.push(['PC', patron.category]);
    }
    fields.push(['AF', patron ? 'Greetings from the simulator' : 'Invalid patron']);
    return fields;
  };

  const patronStatus = (patron: Sip2SimPatron | undefined) => {
    if (!patron) return 'YYYY          ';
    const s = Array<string>(14).fill(' ');
    if (patron.blocked) s[0] = s[1] = s[2] = s[3] = 'Y';
    if (patron.cardLost) s[4] = 'Y';
    return s.join('');
  };

  const answer = (request: SipMessage, state: ConnectionState): SipMessage | 'drop' | null => {
    const now = formatSipDate();
    switch (request.code) {
      case '93': {
        const ok =
          options.user === undefined ||
          (field(request, 'CN') === options.user && field(request, 'CO') === (options.password ?? ''));
        if (takeFault('93', ['refuse_login']) || !ok) return { code: '94', fixed: '0', fields: [] };
        state.loggedIn = true;
        stats.logins++;
        return { code: '94', fixed: '1', fields: [] };
      }
      case '99': {
        const retries = String(options.retriesAllowed ?? 3).padStart(3, '0');
        return {
          code: '98',
          fixed: `YYYYNY030${retries}${now}2.00`,
          fields: [
            ['AO', institution],
            ['AM', 'Dørvakt SIP2 simulator'],
            ['BX', 'YYYYYYYYYYYYYYYY'],
          ],
        };
      }
      case '63':
      case '23': {
        if (options.user !== undefined && !state.loggedIn) return 'drop';
        stats.patronRequests++;
        const card = field(request, 'AA') ?? '';
        const pin = field(request, 'AD');
        const patron = patrons.get(card);
        const status = patronStatus(patron);
        if (request.code === '23')
          return { code: '24', fixed: `${status}000${now}`, fields: patronFields(patron, card, pin) };
        return {
          code: '64',
          fixed: `${status}000${now}${'0000'.repeat(6)}`,
          fields: patronFields(patron, card, pin),
        };
      }
      case '35':
        return {
          code: '36',
          fixed: `Y${now}`,
          fields: [
            ['AO', institution],
            ['AA', field(request, 'AA') ?? ''],
          ],
        };
      default:
        return null;
    }
  };

  const onFrame = (state: ConnectionState, frame: Buffer) => {
    let decoded: ReturnType<typeof decodeFrame>;
    try {
      decoded = decodeFrame(frame, encoding);
    } catch {
      state.socket.write(encodeFrame({ code: '96', fixed: '', fields: [] }, { encoding, errorDetection }));
      return;
    }
    const { message, seq, checksumOk } = decoded;
    stats.received.push(message.code);
    if (errorDetection && checksumOk === false) {
      state.socket.write(encodeFrame({ code: '96', fixed: '', fields: [] }, { encoding, errorDetection }));
      return;
    }
    if (message.code === '97') {
      stats.resendRequests++;
      if (state.last) write(state, state.last.message, state.last.seq, state.last.requestCode);
      return;
    }
    const reply = answer(message, state);
    if (reply === 'drop') return void state.socket.destroy();
    if (!reply) {
      state.socket.write(encodeFrame({ code: '96', fixed: '', fields: [] }, { encoding, errorDetection }));
      return;
    }
    const previous = state.last?.message;
    state.last = { message: reply, seq, requestCode: message.code };
    write(state, reply, seq, message.code, previous);
  };

  const onConnection = (socket: Socket) => {
    if (fault?.mode === 'down') return void socket.destroy();
    stats.connections++;
    sockets.add(socket);
    const state: ConnectionState = { socket, loggedIn: false, last: null };
    const splitter = new FrameSplitter();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of splitter.push(chunk)) onFrame(state, frame);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };

  const server: Server = options.tls
    ? createTlsServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ca: options.tls.ca,
          requestCert: options.tls.requestCert ?? false,
          rejectUnauthorized: options.tls.requestCert ?? false,
        },
        onConnection,
      )
    : createTcpServer(onConnection);
  server.on('tlsClientError', () => undefined);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    host,
    port,
    encoding,
    errorDetection,
    stats,
    get fault() {
      return fault;
    },
    setFault(next) {
      fault = next ? { ...next } : null;
      if (fault?.mode === 'down') for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
