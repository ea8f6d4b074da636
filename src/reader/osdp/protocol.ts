/**
 * OSDP packets (IEC 60839-11-5 / SIA OSDP 2.2, as documented by libosdp): SOM 0x53, address (bit 7 set
 * on replies), length LSB/MSB counting every byte from SOM to the check characters, control byte
 * (bits 0–1 sequence, bit 2 CRC instead of checksum, bit 3 security block present), the optional
 * security block, the command or reply code, its data, a 4-byte MAC on secure-channel packets, and the
 * CRC-16 (LSB first) or checksum. Pure: no I/O, no timers.
 */
import { checksum8, crc16 } from './crc.ts';

export const SOM = 0x53;
export const BROADCAST = 0x7f;

export const CMD = {
  POLL: 0x60,
  ID: 0x61,
  CAP: 0x62,
  LSTAT: 0x64,
  RSTAT: 0x67,
  OUT: 0x68,
  LED: 0x69,
  BUZ: 0x6a,
  TEXT: 0x6b,
  COMSET: 0x6e,
  KEYSET: 0x75,
  CHLNG: 0x76,
  SCRYPT: 0x77,
} as const;

export const REPLY = {
  ACK: 0x40,
  NAK: 0x41,
  PDID: 0x45,
  PDCAP: 0x46,
  LSTATR: 0x48,
  RSTATR: 0x4b,
  RAW: 0x50,
  FMT: 0x51,
  KEYPAD: 0x53,
  COM: 0x54,
  CCRYPT: 0x76,
  RMAC_I: 0x78,
  BUSY: 0x79,
} as const;

/** Security block types: handshake steps, then MAC only / MAC + encrypted data, command and reply. */
export const SCS = {
  CHLNG: 0x11,
  CCRYPT: 0x12,
  SCRYPT: 0x13,
  RMAC_I: 0x14,
  CMD_MAC: 0x15,
  REPLY_MAC: 0x16,
  CMD_ENC: 0x17,
  REPLY_ENC: 0x18,
} as const;

/** NAK error codes. */
export const NAK = {
  CHECK: 0x01,
  LENGTH: 0x02,
  UNKNOWN_CMD: 0x03,
  SEQUENCE: 0x04,
  SC_UNSUPPORTED: 0x05,
  SC_CONDITIONS: 0x06,
  RECORD: 0x09,
} as const;

const CTRL_SEQ = 0x03;
const CTRL_CRC = 0x04;
const CTRL_SCB = 0x08;
const HEADER = 5;
export const MAC_LENGTH = 4;
/** Longest packet accepted; real readers send far less (a card, a text line). */
export const MAX_PACKET = 1024;

export interface Packet {
  /** 0–0x7F; replies carry it with bit 7 set on the wire. */
  address: number;
  reply: boolean;
  /** 0–3: 0 resets the reader's state, then 1, 2, 3, 1, … */
  seq: number;
  crc: boolean;
  /** Security block: [length, type, …data]; absent on plaintext packets. */
  scb?: Uint8Array | undefined;
  code: number;
  data: Uint8Array;
}

export const hasMac = (scb: Uint8Array | undefined): boolean =>
  scb !== undefined && scb.length >= 2 && scb[1]! >= SCS.CMD_MAC && scb[1]! <= SCS.REPLY_ENC;

/**
 * Encodes a packet. `mac` receives the bytes from SOM to the end of the data and returns the
 * 4 MAC bytes to append; it is called for packets whose security block says they carry one.
 */
export function encodePacket(packet: Packet, mac?: (signed: Uint8Array) => Uint8Array): Uint8Array {
  const scb = packet.scb ?? new Uint8Array(0);
  const withMac = hasMac(packet.scb);
  if (withMac && !mac) throw new Error('osdp: packet needs a MAC');
  const body = HEADER + scb.length + 1 + packet.data.length;
  const total = body + (withMac ? MAC_LENGTH : 0) + (packet.crc ? 2 : 1);
  if (total > MAX_PACKET) throw new Error('osdp: packet too long');
  const out = new Uint8Array(total);
  out[0] = SOM;
  out[1] = (packet.address & 0x7f) | (packet.reply ? 0x80 : 0);
  out[2] = total & 0xff;
  out[3] = total >> 8;
  out[4] = (packet.seq & CTRL_SEQ) | (packet.crc ? CTRL_CRC : 0) | (packet.scb ? CTRL_SCB : 0);
  out.set(scb, HEADER);
  out[HEADER + scb.length] = packet.code;
  out.set(packet.data, HEADER + scb.length + 1);
  let end = body;
  if (withMac) {
    const m = mac!(out.subarray(0, body));
    out.set(m.subarray(0, MAC_LENGTH), end);
    end += MAC_LENGTH;
  }
  if (packet.crc) {
    const c = crc16(out, 0, end);
    out[end] = c & 0xff;
    out[end + 1] = c >> 8;
  } else out[end] = checksum8(out, 0, end);
  return out;
}

export interface DecodedPacket extends Packet {
  /** The 4 MAC bytes, when the security block says there is one. */
  mac?: Uint8Array | undefined;
  /** The bytes the MAC covers: SOM to the end of the data. */
  signed: Uint8Array;
}

export type ParseResult =
  | { ok: true; packet: DecodedPacket }
  | { ok: false; why: 'bad_check' | 'bad_length' };

/**
 * Splits a byte stream into packets. Bytes before SOM (line noise, the 0xFF mark some send) are
 * skipped; a packet whose check fails is reported and the search restarts one byte after its SOM.
 */
export class PacketReader {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): ParseResult[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const results: ParseResult[] = [];
    let at = 0;
    for (;;) {
      while (at < joined.length && joined[at] !== SOM) at++;
      if (joined.length - at < HEADER) break;
      const length = joined[at + 2]! | (joined[at + 3]! << 8);
      const crc = (joined[at + 4]! & CTRL_CRC) !== 0;
      if (length < HEADER + 1 + (crc ? 2 : 1) || length > MAX_PACKET) {
        results.push({ ok: false, why: 'bad_length' });
        at++;
        continue;
      }
      if (joined.length - at < length) break;
      const result = decodeWhole(joined.subarray(at, at + length));
      results.push(result);
      at += result.ok ? length : 1;
    }
    this.buffer = joined.slice(at);
    return results;
  }

  /** Forgets a half-read packet: nothing from before a new command is joined to its answer. */
  reset(): void {
    this.buffer = new Uint8Array(0);
  }

  get pending(): number {
    return this.buffer.length;
  }
}

/** Decodes one complete packet (length already matched). */
export function decodeWhole(bytes: Uint8Array): ParseResult {
  const length = bytes.length;
  const control = bytes[4]!;
  const crc = (control & CTRL_CRC) !== 0;
  const checkLength = crc ? 2 : 1;
  const end = length - checkLength;
  if (crc) {
    if (crc16(bytes, 0, end) !== (bytes[end]! | (bytes[end + 1]! << 8)))
      return { ok: false, why: 'bad_check' };
  } else if (checksum8(bytes, 0, end) !== bytes[end]) return { ok: false, why: 'bad_check' };
  let at = HEADER;
  let scb: Uint8Array | undefined;
  if (control & CTRL_SCB) {
    const scbLength = bytes[at]!;
    if (scbLength < 2 || at + scbLength >= end) return { ok: false, why: 'bad_length' };
    scb = bytes.slice(at, at + scbLength);
    at += scbLength;
  }
  const macLength = hasMac(scb) ? MAC_LENGTH : 0;
  const dataEnd = end - macLength;
  if (at >= dataEnd) return { ok: false, why: 'bad_length' };
  const code = bytes[at]!;
  return {
    ok: true,
    packet: {
      address: bytes[1]! & 0x7f,
      reply: (bytes[1]! & 0x80) !== 0,
      seq: control & CTRL_SEQ,
      crc,
      scb,
      code,
      data: bytes.slice(at + 1, dataEnd),
      mac: macLength ? bytes.slice(dataEnd, end) : undefined,
      signed: bytes.slice(0, dataEnd),
    },
  };
}

/** The sequence number after `seq`: 1, 2, 3, 1, … (0 only starts a conversation). */
export const nextSeq = (seq: number): number => (seq % 3) + 1;
