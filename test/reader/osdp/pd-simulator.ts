/**
 * An OSDP reader (PD), written from the specification as libosdp documents it, for tests and the bench.
 * It keeps its own framing and its own MAC chain (only CRC and AES primitives are shared, and those are
 * checked against Annex E). `PdDevice` answers one packet with bytes; `PdSimulator` puts devices on the
 * host end of a real pty pair.
 */
import { randomBytes } from 'node:crypto';
import { SerialPort } from 'serialport';
import { crc16 } from '../../../src/reader/osdp/crc.ts';
import {
  computeMac,
  cpCryptogram,
  decryptData,
  encryptData,
  initialRmac,
  pdCryptogram,
  SCBK_DEFAULT,
  type SessionKeys,
  sessionKeys,
} from '../../../src/reader/osdp/secure-channel.ts';

export interface PdDeviceOptions {
  address: number;
  /** The reader's SCBK; undefined: none set yet. */
  key?: Buffer | undefined;
  /** Accepts SCBK-D (a reader fresh from the box, or reset). */
  install?: boolean;
  display?: boolean;
  /** Answers plaintext POLLs; a reader set to enforce its secure channel does not. */
  acceptPlaintext?: boolean;
}

export interface Received {
  code: number;
  data: Buffer;
  secure: boolean;
}

interface Sc {
  keys: SessionKeys;
  cpRandom: Buffer;
  pdRandom: Buffer;
  /** Last command MAC and last reply MAC, full 16 bytes. */
  cmac: Buffer;
  rmac: Buffer;
  active: boolean;
  defaultKey: boolean;
}

/** One reader's protocol engine. */
export class PdDevice {
  key: Buffer | undefined;
  install: boolean;
  display: boolean;
  acceptPlaintext: boolean;
  /** Stops answering (unplugged from the bus, power cut). */
  silent = false;
  tamper = false;
  private tamperReported = false;
  /** Replies to sealed polls in plaintext: a downgrade a tapped wire might try. */
  downgrade = false;
  readonly cards: { kind: 'raw' | 'fmt'; value: Buffer; bits?: number }[] = [];
  readonly keypad: string[] = [];
  readonly received: Received[] = [];
  private lastSeq = -1;
  private lastReply: Buffer | undefined;
  private sc: Sc | undefined;
  /** Cards that left in a sealed (encrypted) reply. */
  sealedCards = 0;
  /** NAKs a KEYSET (a reader whose key is locked). */
  refuseKeyset = false;
  /** CHLNGs seen (handshakes begun). */
  handshakes = 0;
  plainCards = 0;

  constructor(readonly options: PdDeviceOptions) {
    this.key = options.key;
    this.install = options.install ?? false;
    this.display = options.display ?? false;
    this.acceptPlaintext = options.acceptPlaintext ?? true;
  }

  get address(): number {
    return this.options.address;
  }

  get secure(): boolean {
    return this.sc?.active === true;
  }

  /** A card read: RAW with the card's bytes (hex given), or FMT with its digits. */
  present(card: string, kind: 'raw' | 'fmt' = 'raw'): void {
    if (kind === 'raw') this.cards.push({ kind, value: Buffer.from(card, 'hex'), bits: card.length * 4 });
    else this.cards.push({ kind, value: Buffer.from(card, 'latin1') });
  }

  /** One whole packet addressed to this reader in; the reply's bytes out (undefined: no answer). */
  handle(packet: Buffer): Buffer | undefined {
    if (this.silent) return undefined;
    const ctrl = packet[4]!;
    const seq = ctrl & 3;
    if (seq !== 0 && seq === this.lastSeq && this.lastReply) return this.lastReply; // the CP retried
    if (seq === 0) this.sc = undefined; // sequence 0: the control panel starts over
    const reply = this.process(packet, seq);
    this.lastSeq = seq;
    this.lastReply = reply;
    return reply;
  }

  private process(packet: Buffer, seq: number): Buffer {
    const ctrl = packet[4]!;
    const hasScb = (ctrl & 8) !== 0;
    const end = packet.length - 2;
    let at = 5;
    let scbType = 0;
    let scbData = 0;
    if (hasScb) {
      scbType = packet[6]!;
      scbData = packet[7] ?? 0;
      at += packet[5]!;
    }
    const macked = scbType >= 0x15 && scbType <= 0x18;
    const dataEnd = macked ? end - 4 : end;
    const code = packet[at]!;
    let data = packet.subarray(at + 1, dataEnd);
    const nak = (why: number) => this.plain(seq, 0x41, Buffer.of(why));

    if (scbType === 0x11) {
      this.handshakes++;
      const useDefault = scbData === 0;
      const scbk = useDefault ? (this.install ? SCBK_DEFAULT : undefined) : this.key;
      if (!scbk || data.length !== 8) return nak(6);
      const cpRandom = Buffer.from(data);
      const pdRandom = randomBytes(8);
      const keys = sessionKeys(scbk, cpRandom);
      this.sc = {
        keys,
        cpRandom,
        pdRandom,
        cmac: Buffer.alloc(16),
        rmac: Buffer.alloc(16),
        active: false,
        defaultKey: useDefault,
      };
      const uid = Buffer.from('0102030405060708', 'hex');
      return this.frame(
        seq,
        0x76,
        Buffer.concat([uid, pdRandom, pdCryptogram(keys, cpRandom, pdRandom)]),
        Buffer.of(3, 0x12, scbData),
      );
    }
    if (scbType === 0x13) {
      const sc = this.sc;
      if (!sc || !cpCryptogram(sc.keys, sc.cpRandom, sc.pdRandom).equals(data)) {
        this.sc = undefined;
        return nak(6);
      }
      sc.rmac = initialRmac(sc.keys, data);
      sc.active = true;
      return this.frame(seq, 0x78, sc.rmac, Buffer.of(3, 0x14, 1));
    }
    let secure = false;
    if (macked) {
      const sc = this.sc;
      if (!sc?.active) return nak(6);
      const mac = computeMac(sc.keys, sc.rmac, packet.subarray(0, dataEnd));
      if (!mac.subarray(0, 4).equals(packet.subarray(dataEnd, end))) {
        this.sc = undefined;
        return nak(6);
      }
      sc.cmac = mac;
      if (scbType === 0x17) {
        const plain = decryptData(sc.keys, sc.rmac, data);
        if (!plain) return nak(6);
        data = plain;
      }
      secure = true;
    } else if (!this.acceptPlaintext && this.sc?.active !== true && code !== 0x61 && code !== 0x62) {
      return nak(6);
    } else if (this.sc?.active) {
      this.sc = undefined; // a plaintext command ends the session
    }
    this.received.push({ code, data: Buffer.from(data), secure });
    const reply = this.answer(code, data, secure);
    if (!reply) return nak(3);
    if (secure && !(this.downgrade && reply.code === 0x50)) {
      return this.sealed(seq, reply.code, reply.data);
    }
    return this.plain(seq, reply.code, reply.data);
  }

  private answer(code: number, data: Buffer, secure: boolean): { code: number; data: Buffer } | undefined {
    const ack = { code: 0x40, data: Buffer.alloc(0) };
    switch (code) {
      case 0x60: {
        if (this.tamper !== this.tamperReported) {
          this.tamperReported = this.tamper;
          return { code: 0x48, data: Buffer.of(this.tamper ? 1 : 0, 0) };
        }
        const card = this.cards.shift();
        if (card) {
          if (secure && !this.downgrade) this.sealedCards++;
          else this.plainCards++;
          if (card.kind === 'fmt')
            return { code: 0x51, data: Buffer.concat([Buffer.of(0, 0, card.value.length), card.value]) };
          return {
            code: 0x50,
            data: Buffer.concat([Buffer.of(0, 0, card.bits! & 0xff, card.bits! >> 8), card.value]),
          };
        }
        const keys = this.keypad.shift();
        if (keys !== undefined)
          return {
            code: 0x53,
            data: Buffer.concat([Buffer.of(0, keys.length), Buffer.from(keys.replace(/#/g, '\r'), 'latin1')]),
          };
        return ack;
      }
      case 0x61:
        return { code: 0x45, data: Buffer.from('5c261d0102a5b2c3d4010203', 'hex') };
      case 0x62: {
        const caps = [1, 1, 1, 3, 1, 1, 4, 1, 1, 5, 1, 1, 9, 1, 0];
        if (this.display) caps.push(10, 1, 1);
        return { code: 0x46, data: Buffer.from(caps) };
      }
      case 0x64:
        this.tamperReported = this.tamper;
        return { code: 0x48, data: Buffer.of(this.tamper ? 1 : 0, 0) };
      case 0x67:
        return { code: 0x4b, data: Buffer.of(this.tamper ? 2 : 0) };
      case 0x68:
      case 0x69:
      case 0x6a:
      case 0x6b:
        return ack;
      case 0x6e:
        return { code: 0x54, data: Buffer.from(data.subarray(0, 5)) };
      case 0x75:
        // A key is set only over the secure channel; it ends install mode.
        if (this.refuseKeyset || !secure || data[0] !== 1 || data[1] !== 16 || data.length !== 18)
          return { code: 0x41, data: Buffer.of(6) };
        this.key = Buffer.from(data.subarray(2, 18));
        this.install = false;
        return ack;
      default:
        return undefined;
    }
  }

  private plain(seq: number, code: number, data: Buffer): Buffer {
    return this.frame(seq, code, data);
  }

  private sealed(seq: number, code: number, data: Buffer): Buffer {
    const sc = this.sc!;
    const body = data.length > 0 ? encryptData(sc.keys, sc.cmac, data) : data;
    return this.frame(seq, code, body, Buffer.of(2, data.length > 0 ? 0x18 : 0x16), (signed) => {
      sc.rmac = computeMac(sc.keys, sc.cmac, signed);
      return sc.rmac.subarray(0, 4);
    });
  }

  private frame(
    seq: number,
    code: number,
    data: Buffer,
    scb?: Buffer,
    mac?: (signed: Buffer) => Buffer,
  ): Buffer {
    const head = Buffer.of(0x53, this.address | 0x80, 0, 0, (seq & 3) | 4 | (scb ? 8 : 0));
    let body = Buffer.concat([head, scb ?? Buffer.alloc(0), Buffer.of(code), data]);
    const length = body.length + (mac ? 4 : 0) + 2;
    body.writeUInt16LE(length, 2);
    if (mac) body = Buffer.concat([body, mac(body)]);
    const crc = crc16(body);
    return Buffer.concat([body, Buffer.of(crc & 0xff, crc >> 8)]);
  }
}

/** Readers on the far end of a pty pair, answering the control panel's packets by address. */
export class PdSimulator {
  private port: SerialPort | undefined;
  private buffer = Buffer.alloc(0);
  /** Ms before each answer (a reader's processing time). */
  delayMs = 0;
  /**
   * A pty moves bytes at any speed: with this set, each answer waits as long as the command and the
   * answer take on an RS-485 wire at this baud rate (10 bits a byte, half duplex).
   */
  wireBaud: number | undefined;

  constructor(
    private readonly path: string,
    readonly devices: PdDevice[],
    private readonly baudRate = 9600,
  ) {}

  device(address: number): PdDevice {
    const found = this.devices.find((d) => d.address === address);
    if (!found) throw new Error(`no simulated reader at ${address}`);
    return found;
  }

  async start(): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    port.on('error', () => {});
    this.port = port;
  }

  async stop(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const som = this.buffer.indexOf(0x53);
      if (som < 0) {
        this.buffer = Buffer.alloc(0);
        return;
      }
      this.buffer = this.buffer.subarray(som);
      if (this.buffer.length < 5) return;
      const length = this.buffer.readUInt16LE(2);
      if (length < 8 || length > 1024) {
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      if (this.buffer.length < length) return;
      const packet = Buffer.from(this.buffer.subarray(0, length));
      const crcOk =
        (packet[4]! & 4) !== 0 && crc16(packet, 0, length - 2) === packet.readUInt16LE(length - 2);
      if (!crcOk) {
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      this.buffer = this.buffer.subarray(length);
      const device = this.devices.find((d) => d.address === (packet[1]! & 0x7f));
      const reply = device?.handle(packet);
      if (reply) {
        const send = () => this.port?.write(reply);
        const wireMs = this.wireBaud ? ((packet.length + reply.length) * 10_000) / this.wireBaud : 0;
        const delay = this.delayMs + wireMs;
        if (delay > 0) setTimeout(send, delay);
        else send();
      }
    }
  }
}
