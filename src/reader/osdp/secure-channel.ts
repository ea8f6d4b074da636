/**
 * OSDP Secure Channel cryptography (SIA OSDP 2.2 §D, as documented by libosdp): session keys from the
 * SCBK, the two cryptograms of the handshake, the initial R-MAC, MAC chaining and data encryption.
 * AES-128 from node:crypto. Pure functions plus one small state holder; no I/O.
 */
import { type Cipher, createCipheriv, createDecipheriv, type Decipher, timingSafeEqual } from 'node:crypto';

/** SCBK-D, the default key every reader knows: only for commissioning (install mode). */
export const SCBK_DEFAULT = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');

export interface SessionKeys {
  enc: Buffer;
  mac1: Buffer;
  mac2: Buffer;
}

function aesEcb(key: Uint8Array, block: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/**
 * One open AES-128-ECB cipher per session key, kept for the session: every poll MACs a command and a
 * reply, and opening a cipher per block costs far more than the block. Without padding, each 16-byte
 * update yields its 16-byte block at once; CBC is built on it below.
 */
const ecbs = new WeakMap<Uint8Array, { encrypt: Cipher; decrypt: Decipher }>();

function ecbOf(key: Uint8Array): { encrypt: Cipher; decrypt: Decipher } {
  let ecb = ecbs.get(key);
  if (!ecb) {
    ecb = {
      encrypt: createCipheriv('aes-128-ecb', key, null).setAutoPadding(false),
      decrypt: createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false),
    };
    ecbs.set(key, ecb);
  }
  return ecb;
}

/** AES-128-CBC without padding over whole blocks. */
function aesCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, decrypt = false): Buffer {
  // A partial block would stay inside the shared cipher and spoil the next call.
  if (data.length % 16 !== 0) throw new Error('osdp: AES-CBC needs whole blocks');
  const ecb = ecbOf(key);
  const out = Buffer.alloc(data.length);
  let chain: Uint8Array = iv;
  for (let at = 0; at < data.length; at += 16) {
    const block = data.subarray(at, at + 16);
    if (decrypt) {
      const plain = ecb.decrypt.update(block);
      for (let i = 0; i < 16; i++) out[at + i] = plain[i]! ^ chain[i]!;
      chain = block;
    } else {
      const mixed = Buffer.allocUnsafe(16);
      for (let i = 0; i < 16; i++) mixed[i] = block[i]! ^ chain[i]!;
      ecb.encrypt.update(mixed).copy(out, at);
      chain = out.subarray(at, at + 16);
    }
  }
  return out;
}

/** S-ENC, S-MAC1, S-MAC2: AES(SCBK, 01 82|01|02, first 6 bytes of the CP's random, zeros). */
export function sessionKeys(scbk: Uint8Array, cpRandom: Uint8Array): SessionKeys {
  const derive = (second: number) => {
    const block = new Uint8Array(16);
    block[0] = 0x01;
    block[1] = second;
    block.set(cpRandom.subarray(0, 6), 2);
    return aesEcb(scbk, block);
  };
  return { enc: derive(0x82), mac1: derive(0x01), mac2: derive(0x02) };
}

/** The reader's ("client") cryptogram, sent in CCRYPT: AES(S-ENC, RND.A ‖ RND.B). */
export const pdCryptogram = (keys: SessionKeys, cpRandom: Uint8Array, pdRandom: Uint8Array): Buffer =>
  aesEcb(keys.enc, Buffer.concat([cpRandom, pdRandom]));

/** The control panel's ("server") cryptogram, sent in SCRYPT: AES(S-ENC, RND.B ‖ RND.A). */
export const cpCryptogram = (keys: SessionKeys, cpRandom: Uint8Array, pdRandom: Uint8Array): Buffer =>
  aesEcb(keys.enc, Buffer.concat([pdRandom, cpRandom]));

/** The first R-MAC, sent in RMAC_I: AES(S-MAC2, AES(S-MAC1, CP cryptogram)). */
export const initialRmac = (keys: SessionKeys, cpCrypt: Uint8Array): Buffer =>
  aesEcb(keys.mac2, aesEcb(keys.mac1, cpCrypt));

/**
 * The full 16-byte MAC of a message (SOM to the end of its data): padded with 0x80 and zeros when not
 * a whole number of blocks, AES-CBC with S-MAC1 over all blocks but the last, the last with S-MAC2.
 * `iv` is the previous MAC in the other direction (chaining); the frame carries the first 4 bytes.
 */
export function computeMac(keys: SessionKeys, iv: Uint8Array, message: Uint8Array): Buffer {
  const padded = padded16(message, false);
  let chain: Uint8Array = iv;
  if (padded.length > 16) {
    const head = aesCbc(keys.mac1, iv, padded.subarray(0, padded.length - 16));
    chain = head.subarray(head.length - 16);
  }
  return aesCbc(keys.mac2, chain, padded.subarray(padded.length - 16));
}

/** Data blocks: 0x80 always appended, zeros to 16, AES-CBC with S-ENC and IV = ~(last MAC of the other side). */
export function encryptData(keys: SessionKeys, lastMac: Uint8Array, data: Uint8Array): Buffer {
  return aesCbc(keys.enc, complement(lastMac), padded16(data, true));
}

/** Undoes encryptData; undefined when the length or the padding is wrong. */
export function decryptData(keys: SessionKeys, lastMac: Uint8Array, data: Uint8Array): Buffer | undefined {
  if (data.length === 0 || data.length % 16 !== 0) return undefined;
  const plain = aesCbc(keys.enc, complement(lastMac), data, true);
  let end = plain.length - 1;
  while (end > 0 && plain[end] === 0) end--;
  if (plain[end] !== 0x80) return undefined;
  return plain.subarray(0, end);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function complement(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.map((b) => ~b & 0xff));
}

function padded16(data: Uint8Array, always: boolean): Buffer {
  if (!always && data.length > 0 && data.length % 16 === 0) return Buffer.from(data);
  const length = Math.ceil((data.length + 1) / 16) * 16;
  const out = Buffer.alloc(length);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}
