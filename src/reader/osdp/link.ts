/**
 * One reader (PD) as the control panel sees it: the command sequence, supervision, the secure channel
 * handshake and MAC chaining, and what its replies mean. The bus (bus.ts) asks it what to send next and
 * hands it the reply or the timeout; it never waits and owns no timer.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  parseFormattedCard,
  parseKeypad,
  parseLocalStatus,
  parsePdCap,
  parsePdId,
  parseRawCard,
  readerTampered,
  CAP_TEXT_OUTPUT,
  type PdIdentity,
} from './messages.ts';
import { CMD, type DecodedPacket, encodePacket, NAK, nextSeq, REPLY, SCS } from './protocol.ts';
import {
  cpCryptogram,
  initialRmac,
  pdCryptogram,
  sameBytes,
  SCBK_DEFAULT,
  sessionKeys,
  type SessionKeys,
} from './secure-channel.ts';
import { CpSecureSession } from './session.ts';

export type Security = 'key' | 'install' | 'plaintext';
/** Why the link is not secure: the handshake failed (wrong key, tampered reader) or there is no key to use. */
export type InsecureWhy = 'handshake_failed' | 'no_key' | 'bad_mac' | 'plaintext_reply';

export interface LinkOptions {
  address: number;
  security: Security;
  /** The reader's own key (security key); read when a handshake starts. Undefined: none usable. */
  key: () => Buffer | undefined;
  offlineAfter: number;
  /** Pause before a failed handshake is tried again. */
  handshakeRetryMs: number;
  /** How often an offline reader is tried. */
  offlineRetryMs: number;
  crc?: boolean;
  random?: (n: number) => Buffer;
}

export interface LinkEvents {
  status: ['online' | 'offline'];
  /** The card's number as text; only ever emitted under the security the config asks for. */
  card: [string];
  keypad: [string];
  tamper: [boolean];
  insecure: [InsecureWhy | null];
  /** Card data that came in a way the config does not trust: dropped. */
  refused: ['insecure'];
  identity: [PdIdentity];
}

interface Queued {
  code: number;
  data: Uint8Array;
  done?: ((reply: { code: number; data: Uint8Array } | undefined) => void) | undefined;
  /** Feedback is replaced by newer feedback; a KEYSET never is. */
  feedback?: boolean;
}

type Phase = 'id' | 'cap' | 'chlng' | 'scrypt' | 'lstat' | 'poll';

interface InFlight {
  bytes: Uint8Array;
  seq: number;
  code: number;
  item?: Queued | undefined;
  handshake?: { cpRandom: Buffer; keys?: SessionKeys; cpCrypt?: Buffer; scbkFlag: number } | undefined;
}

export class PdLink extends EventEmitter<LinkEvents> {
  private phase: Phase = 'id';
  private seq = 0;
  private misses = 0;
  private online: boolean | undefined;
  private session: CpSecureSession | undefined;
  private pending: InFlight | undefined;
  private handshake: InFlight['handshake'];
  private readonly queue: Queued[] = [];
  private notBefore = 0;
  private tampered = false;
  private insecureWhy: InsecureWhy | null = null;
  hasDisplay = false;
  private readonly random: (n: number) => Buffer;

  constructor(readonly options: LinkOptions) {
    super();
    this.random = options.random ?? randomBytes;
  }

  get address(): number {
    return this.options.address;
  }

  get isOnline(): boolean {
    return this.online === true;
  }

  get secure(): boolean {
    return this.session !== undefined;
  }

  /** Queues a command for the reader (OUT, KEYSET, …); sent before the next poll. */
  send(code: number, data: Uint8Array, done?: Queued['done']): void {
    this.queue.push({ code, data, done });
  }

  /** Queues the feedback for one decision, in place of any not yet sent for an earlier one. */
  sendFeedback(commands: readonly { code: number; data: Uint8Array }[]): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]!.feedback) this.queue.splice(i, 1);
    for (const c of commands) this.queue.push({ code: c.code, data: c.data, feedback: true });
  }

  /** Something to send now (ahead of polls), so the bus need not wait for its poll interval. */
  get urgent(): boolean {
    return this.queue.length > 0 && this.phase === 'poll' && this.pending === undefined;
  }

  /** The packet to write now, or undefined when this reader has nothing due yet. */
  next(nowMs: number): Uint8Array | undefined {
    if (nowMs < this.notBefore) return undefined;
    if (this.pending) return this.pending.bytes; // a retry: same bytes, same sequence number
    const request = this.request(nowMs);
    if (!request) return undefined;
    this.pending = request;
    return request.bytes;
  }

  /** The bus lost its port: the reader is offline until it answers again. */
  transportLost(): void {
    this.goOffline();
  }

  /** No reply in time. */
  timeout(nowMs: number): void {
    this.misses++;
    if (this.misses >= this.options.offlineAfter && this.online !== false) this.goOffline();
    if (this.online === false) {
      // Offline: start again from sequence 0 now and then; nothing queued survives.
      this.pending = undefined;
      this.notBefore = nowMs + this.options.offlineRetryMs;
    }
  }

  /** A well-formed packet arrived while this reader's command was pending. Returns false when it was not ours. */
  reply(packet: DecodedPacket, nowMs: number): boolean {
    const pending = this.pending;
    if (!pending || !packet.reply || packet.address !== this.address || packet.seq !== pending.seq)
      return false;
    this.pending = undefined;
    this.misses = 0;
    this.seq = nextSeq(pending.seq);
    if (this.online !== true) {
      this.online = true;
      this.emit('status', 'online');
    }
    let code = packet.code;
    let data = packet.data;
    if (this.session && !pending.handshake) {
      const opened = packet.scb ? this.session.open(packet) : undefined;
      if (!opened) {
        // A plaintext NAK is how a reader says it dropped the session; anything else unsealed is refused.
        this.dropSession(
          code === REPLY.NAK && !packet.scb ? null : packet.scb ? 'bad_mac' : 'plaintext_reply',
        );
        if (isCardReply(code)) this.emit('refused', 'insecure');
        pending.item?.done?.(undefined);
        return true;
      }
      data = opened;
    } else if (packet.scb && !pending.handshake) {
      code = -1; // a secure reply we cannot check
    }
    this.handle(pending, code, data, packet, nowMs);
    return true;
  }

  private handle(
    pending: InFlight,
    code: number,
    data: Uint8Array,
    packet: DecodedPacket,
    nowMs: number,
  ): void {
    if (code === REPLY.BUSY) {
      // A busy reader gets the same command again, a little later.
      this.seq = pending.seq;
      this.pending = pending;
      this.notBefore = nowMs + BUSY_RETRY_MS;
      return;
    }
    if (code === REPLY.NAK) {
      const why = data[0];
      if (why === NAK.SEQUENCE) this.restart();
      else if (pending.handshake || why === NAK.SC_CONDITIONS || why === NAK.SC_UNSUPPORTED) {
        if (this.options.security !== 'plaintext') this.handshakeFailed(nowMs);
      }
      pending.item?.done?.(undefined);
      return;
    }
    switch (pending.code) {
      case CMD.ID: {
        const id = code === REPLY.PDID ? parsePdId(data) : undefined;
        if (id) this.emit('identity', id);
        this.phase = 'cap';
        return;
      }
      case CMD.CAP:
        if (code === REPLY.PDCAP)
          this.hasDisplay = parsePdCap(data).some(
            (c) => c.code === CAP_TEXT_OUTPUT && c.compliance > 0 && c.count > 0,
          );
        this.phase = this.options.security === 'plaintext' ? 'lstat' : 'chlng';
        return;
      case CMD.CHLNG:
      case CMD.SCRYPT: {
        const failed =
          pending.code === CMD.CHLNG
            ? this.onCcrypt(pending, code, data, packet)
            : this.onRmacI(pending, code, data, packet);
        if (failed) this.handshakeFailed(nowMs, failed);
        return;
      }
      default:
        break;
    }
    if (pending.code === CMD.LSTAT && this.phase === 'lstat') this.phase = 'poll';
    this.onStatusOrCard(code, data);
    pending.item?.done?.({ code, data });
  }

  private onStatusOrCard(code: number, data: Uint8Array): void {
    switch (code) {
      case REPLY.LSTATR: {
        const status = parseLocalStatus(data);
        if (status) this.setTamper(status.tamper);
        return;
      }
      case REPLY.RSTATR:
        this.setTamper(readerTampered(data));
        return;
      case REPLY.RAW:
      case REPLY.FMT: {
        if (this.options.security !== 'plaintext' && !this.session) {
          this.emit('refused', 'insecure');
          return;
        }
        const card = code === REPLY.RAW ? parseRawCard(data) : parseFormattedCard(data);
        if (card !== undefined) this.emit('card', card);
        return;
      }
      case REPLY.KEYPAD: {
        if (this.options.security !== 'plaintext' && !this.session) return;
        const keys = parseKeypad(data);
        if (keys !== undefined) this.emit('keypad', keys);
        return;
      }
      default:
    }
  }

  /** Checks the reader's cryptogram; undefined when it proves the reader holds the key. */
  private onCcrypt(
    pending: InFlight,
    code: number,
    data: Uint8Array,
    packet: DecodedPacket,
  ): InsecureWhy | undefined {
    const hs = pending.handshake!;
    if (code !== REPLY.CCRYPT || packet.scb?.[1] !== SCS.CCRYPT || data.length !== 32)
      return 'handshake_failed';
    const pdRandom = Buffer.from(data.subarray(8, 16));
    const scbk = hs.scbkFlag === 0 ? SCBK_DEFAULT : this.options.key();
    if (!scbk) return 'no_key';
    const keys = sessionKeys(scbk, hs.cpRandom);
    if (!sameBytes(pdCryptogram(keys, hs.cpRandom, pdRandom), data.subarray(16, 32)))
      return 'handshake_failed';
    this.handshake = { ...hs, keys, cpCrypt: cpCryptogram(keys, hs.cpRandom, pdRandom) };
    this.phase = 'scrypt';
    return undefined;
  }

  /** Checks the initial R-MAC and opens the session; undefined when it did. */
  private onRmacI(
    pending: InFlight,
    code: number,
    data: Uint8Array,
    packet: DecodedPacket,
  ): InsecureWhy | undefined {
    const hs = pending.handshake!;
    if (
      code !== REPLY.RMAC_I ||
      packet.scb?.[1] !== SCS.RMAC_I ||
      packet.scb[2] !== 0x01 ||
      data.length !== 16
    )
      return 'handshake_failed';
    const expected = initialRmac(hs.keys!, hs.cpCrypt!);
    if (!sameBytes(expected, data)) return 'handshake_failed';
    this.session = new CpSecureSession(hs.keys!, expected);
    this.handshake = undefined;
    this.setInsecure(null);
    this.phase = 'lstat';
    return undefined;
  }

  private request(nowMs: number): InFlight | undefined {
    const seq = this.seq;
    const crc = this.options.crc ?? true;
    const plain = (code: number, data: Uint8Array, scb?: Uint8Array): InFlight => ({
      bytes: encodePacket({ address: this.address, reply: false, seq, crc, scb, code, data }),
      seq,
      code,
    });
    const sealed = (code: number, data: Uint8Array): InFlight =>
      this.session
        ? {
            bytes: this.session.seal({ address: this.address, reply: false, seq, crc, code, data }),
            seq,
            code,
          }
        : plain(code, data);
    switch (this.phase) {
      case 'id':
        return plain(CMD.ID, Uint8Array.of(0));
      case 'cap':
        return plain(CMD.CAP, Uint8Array.of(0));
      case 'chlng': {
        const scbkFlag = this.options.security === 'install' ? 0 : 1;
        if (scbkFlag === 1 && !this.options.key()) {
          this.setInsecure('no_key');
          // Supervision only: an ID now and then shows the reader is there; no poll, so no card.
          this.notBefore = nowMs + this.options.handshakeRetryMs;
          return plain(CMD.ID, Uint8Array.of(0));
        }
        const cpRandom = this.random(8);
        const inflight = plain(CMD.CHLNG, cpRandom, Uint8Array.of(3, SCS.CHLNG, scbkFlag));
        inflight.handshake = { cpRandom, scbkFlag };
        return inflight;
      }
      case 'scrypt': {
        const hs = this.handshake!;
        const inflight = plain(CMD.SCRYPT, hs.cpCrypt!, Uint8Array.of(3, SCS.SCRYPT, hs.scbkFlag));
        inflight.handshake = hs;
        return inflight;
      }
      case 'lstat':
        return sealed(CMD.LSTAT, new Uint8Array(0));
      case 'poll': {
        const item = this.queue.shift();
        if (item) return { ...sealed(item.code, item.data), item };
        return sealed(CMD.POLL, new Uint8Array(0));
      }
    }
  }

  private handshakeFailed(nowMs: number, why: InsecureWhy = 'handshake_failed'): void {
    this.session = undefined;
    this.handshake = undefined;
    this.setInsecure(why);
    this.phase = 'chlng';
    this.notBefore = nowMs + this.options.handshakeRetryMs;
  }

  private dropSession(why: InsecureWhy | null): void {
    this.session = undefined;
    this.handshake = undefined;
    if (why) this.setInsecure(why);
    this.phase = 'chlng';
  }

  private restart(): void {
    this.seq = 0;
    this.session = undefined;
    this.handshake = undefined;
    this.phase = 'id';
  }

  private goOffline(): void {
    this.restart();
    this.pending = undefined;
    for (const item of this.queue.splice(0)) item.done?.(undefined);
    if (this.online !== false) {
      this.online = false;
      this.emit('status', 'offline');
    }
  }

  private setTamper(tampered: boolean): void {
    if (tampered === this.tampered) return;
    this.tampered = tampered;
    this.emit('tamper', tampered);
  }

  private setInsecure(why: InsecureWhy | null): void {
    if (why === this.insecureWhy) return;
    this.insecureWhy = why;
    this.emit('insecure', why);
  }
}

const isCardReply = (code: number) => code === REPLY.RAW || code === REPLY.FMT || code === REPLY.KEYPAD;
const BUSY_RETRY_MS = 50;
