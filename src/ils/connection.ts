/**
 * One SIP2 connection (TCP or TLS): connect, login, SC status, then one request in flight at a time.
 * Any timeout or protocol error destroys the connection, so a late reply can never be read as the
 * answer to the next request.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { decodeFrame, decodeText, encodeFrame, FrameSplitter, type SipMessage } from './codec.ts';
import type { SipEncoding } from './config.ts';
import {
  type AcsStatus,
  loginRequest,
  parseAcsStatus,
  parseLoginResponse,
  REPLY_TO,
  requestAcsResend,
  scStatusRequest,
} from './messages.ts';

export type SipErrorKind = 'connect' | 'login' | 'timeout' | 'closed' | 'protocol' | 'offline';

export class SipError extends Error {
  override name = 'SipError';
  constructor(
    readonly kind: SipErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface TlsMaterial {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  rejectUnauthorized: boolean;
  servername?: string | undefined;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  /** TLS when set. */
  tls?: TlsMaterial | undefined;
  encoding: SipEncoding;
  errorDetection: boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  resendLimit: number;
  /** No 93 login when empty. */
  user: string;
  password: string;
  location: string;
  /** Sees every frame as text (ils-check prints it redacted); never wired to the log. */
  trace?: ((direction: 'send' | 'recv' | 'ignored', text: string) => void) | undefined;
}

export class Sip2Connection {
  acsStatus: AcsStatus | null = null;
  closed = false;
  /** Called once when the socket goes away, for whatever reason. */
  onClose: (() => void) | null = null;
  private readonly splitter = new FrameSplitter();
  private seq = -1;
  private onFrame: ((frame: Buffer) => void) | null = null;
  private onGone: ((error: SipError) => void) | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.splitter.push(chunk)) {
        if (this.onFrame) this.onFrame(frame);
        else this.opts.trace?.('ignored', decodeText(frame, this.opts.encoding));
      }
    });
    const gone = () => {
      if (this.closed) return;
      this.closed = true;
      this.onGone?.(new SipError('closed', 'connection closed by the library system'));
      this.onClose?.();
    };
    socket.on('close', gone);
    socket.on('error', gone);
    socket.on('end', () => socket.destroy());
  }

  /** Connects, logs in (93) when a user is configured and asks SC status (99). */
  static async open(opts: ConnectionOptions): Promise<Sip2Connection> {
    const socket = await connectSocket(opts);
    const connection = new Sip2Connection(socket, opts);
    try {
      if (opts.user) {
        const reply = await connection.request(loginRequest(opts.user, opts.password, opts.location));
        if (!parseLoginResponse(reply).ok)
          throw new SipError('login', 'login refused (94 ok=0): check user, password and location');
      }
      const status = await connection.status();
      if (!status.online)
        throw new SipError('offline', 'the library system reports itself offline (98 online=N)');
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  /** SC status; also the heartbeat. */
  async status(): Promise<AcsStatus> {
    const status = parseAcsStatus(await this.request(scStatusRequest()));
    this.acsStatus = status;
    return status;
  }

  /** Sends one message and resolves with its reply; requests queue so only one is in flight. */
  request(message: SipMessage): Promise<SipMessage> {
    const run = this.queue.then(() => this.exchange(message));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.onGone?.(new SipError('closed', 'connection closed'));
      this.onClose?.();
    }
    this.socket.destroy();
  }

  private resendLimit(): number {
    const allowed = this.acsStatus?.retriesAllowed;
    return allowed === null || allowed === undefined
      ? this.opts.resendLimit
      : Math.min(this.opts.resendLimit, allowed);
  }

  private exchange(message: SipMessage): Promise<SipMessage> {
    const { opts } = this;
    if (this.closed) return Promise.reject(new SipError('closed', 'connection closed'));
    const expect = REPLY_TO[message.code];
    if (!expect) return Promise.reject(new Error(`no reply known for message ${message.code}`));
    this.seq = (this.seq + 1) % 10;
    const seq = this.seq;
    const bytes = encodeFrame(message, { encoding: opts.encoding, errorDetection: opts.errorDetection, seq });
    const send = (frame: Buffer) => {
      opts.trace?.('send', decodeText(frame.subarray(0, frame.length - 1), opts.encoding));
      this.socket.write(frame);
    };
    return new Promise<SipMessage>((resolve, reject) => {
      let resends = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (error: Error | null, reply?: SipMessage) => {
        clearTimeout(timer);
        this.onFrame = null;
        this.onGone = null;
        if (error) {
          this.close();
          reject(error);
        } else resolve(reply!);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            finish(new SipError('timeout', `no reply to ${message.code} within ${opts.requestTimeoutMs} ms`)),
          opts.requestTimeoutMs,
        );
      };
      const askResend = (why: string) => {
        if (!opts.errorDetection || resends >= this.resendLimit()) {
          finish(new SipError('protocol', `${why} (after ${resends} resend requests)`));
          return;
        }
        resends++;
        arm();
        send(encodeFrame(requestAcsResend(), { encoding: opts.encoding, errorDetection: true }));
      };
      this.onGone = (error) => finish(error);
      this.onFrame = (frame) => {
        opts.trace?.('recv', decodeText(frame, opts.encoding));
        let decoded: ReturnType<typeof decodeFrame>;
        try {
          decoded = decodeFrame(frame, opts.encoding);
        } catch (error) {
          askResend(`unreadable reply: ${(error as Error).message}`);
          return;
        }
        if (decoded.message.code === '96') {
          // The server could not read ours: send the same bytes (same AY) again.
          if (resends >= this.resendLimit()) {
            finish(
              new SipError('protocol', `the library system keeps asking for a resend (${resends} sent)`),
            );
            return;
          }
          resends++;
          arm();
          send(bytes);
          return;
        }
        if (opts.errorDetection) {
          if (decoded.checksumOk !== true) {
            askResend(decoded.checksumOk === null ? 'reply without checksum' : 'reply with a wrong checksum');
            return;
          }
          if (decoded.seq !== seq) {
            // A stale or foreign reply: never acted on; keep waiting for ours.
            opts.trace?.('ignored', `sequence ${decoded.seq ?? 'missing'}, expected ${seq}`);
            return;
          }
        }
        if (decoded.message.code !== expect) {
          finish(new SipError('protocol', `expected ${expect}, got ${decoded.message.code}`));
          return;
        }
        finish(null, decoded.message);
      };
      arm();
      send(bytes);
    });
  }
}

function connectSocket(opts: ConnectionOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tls = opts.tls;
    const socket: Socket = tls
      ? tlsConnect({
          host: opts.host,
          port: opts.port,
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          rejectUnauthorized: tls.rejectUnauthorized,
          // SNI may not carry an IP address (RFC 6066); identity is then checked against the IP.
          ...(tls.servername
            ? { servername: tls.servername }
            : isIP(opts.host)
              ? {}
              : { servername: opts.host }),
        })
      : netConnect({ host: opts.host, port: opts.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new SipError(
          'connect',
          `cannot connect to ${opts.host}:${opts.port}: no answer within ${opts.connectTimeoutMs} ms`,
        ),
      );
    }, opts.connectTimeoutMs);
    const onError = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new SipError(
          'connect',
          `cannot connect to ${opts.host}:${opts.port}: ${error.code ?? error.message}`,
        ),
      );
    };
    socket.once('error', onError);
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
