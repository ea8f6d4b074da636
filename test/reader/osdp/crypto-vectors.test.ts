/**
 * Check characters and secure-channel cryptography against the worked examples of the SIA OSDP
 * specification, Annex E, as libosdp publishes them (goToMain/libosdp, tests/unit-tests/test-sc-sia-vectors.c).
 * MAC and data encryption have no published example: they are cross-checked with `openssl enc`, an
 * independent AES-CBC, over the construction the specification describes.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checksum8, crc16 } from '../../../src/reader/osdp/crc.ts';
import {
  computeMac,
  cpCryptogram,
  decryptData,
  encryptData,
  initialRmac,
  pdCryptogram,
  SCBK_DEFAULT,
  sessionKeys,
} from '../../../src/reader/osdp/secure-channel.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const lsbFirst = (crc: number) => Buffer.from([crc & 0xff, crc >> 8]).toString('hex');

describe('Annex E examples', () => {
  it('CRC-16 examples 1 and 2', () => {
    expect(lsbFirst(crc16(hex('53 7F 0D 00 04 6E 00 80 25 00 00')))).toBe('6e38');
    expect(lsbFirst(crc16(hex('53 00 09 00 04 61 00')))).toBe('c066');
  });

  it('checksum examples 1 and 2', () => {
    expect(checksum8(hex('53 7F 0C 00 00 6E 00 80 25 00 00'))).toBe(0x0f);
    expect(checksum8(hex('53 00 08 00 00 61 00'))).toBe(0x44);
  });

  it('session keys, both cryptograms and the initial R-MAC from SCBK-D', () => {
    const cpRandom = hex('B0B1B2B3B4B5B6B7');
    const pdRandom = hex('A0A1A2A3A4A5A6A7');
    const keys = sessionKeys(SCBK_DEFAULT, cpRandom);
    expect(keys.mac1.toString('hex')).toBe('5e86c676603bdee2d8beafe178637332');
    expect(keys.mac2.toString('hex')).toBe('6fda86e857777e81132035758239172e');
    expect(keys.enc.toString('hex')).toBe('bf8dc2a8329acb8c67c6d0cd9a451682');
    const cp = cpCryptogram(keys, cpRandom, pdRandom);
    expect(cp.toString('hex')).toBe('26d3356e07762d262801fc8e6665a891');
    expect(pdCryptogram(keys, cpRandom, pdRandom).toString('hex')).toBe('fde5d2f428ec16312471ea3c02bd7796');
    expect(initialRmac(keys, cp).toString('hex')).toBe('b2a30057eb98ba2229ec1f875662b524');
  });
});

/** AES-128-CBC without padding by openssl: the independent implementation. */
function opensslCbc(key: Buffer, iv: Buffer, data: Buffer, decrypt = false): Buffer {
  const args = [
    'enc',
    decrypt ? '-d' : '-e',
    '-aes-128-cbc',
    '-nopad',
    '-K',
    key.toString('hex'),
    '-iv',
    iv.toString('hex'),
  ];
  return execFileSync('openssl', args, { input: data });
}

describe('MAC chaining and data blocks, cross-checked with openssl', () => {
  const keys = sessionKeys(SCBK_DEFAULT, hex('B0B1B2B3B4B5B6B7'));
  const rmacI = hex('b2a30057eb98ba2229ec1f875662b524');

  it('MAC: CBC with S-MAC1 over all blocks but the last, the last with S-MAC2, padded 80 00… when short', () => {
    // A sealed POLL header (SOM … code, 7 bytes) and a 37-byte message: one and three blocks.
    for (const message of [hex('53 00 0e 00 0e 02 15 60'), Buffer.alloc(37, 0x5a)]) {
      const padded = Buffer.alloc(Math.ceil((message.length + 1) / 16) * 16);
      message.copy(padded);
      padded[message.length] = 0x80;
      let iv: Buffer = rmacI;
      if (padded.length > 16) {
        const head = opensslCbc(keys.mac1, rmacI, padded.subarray(0, padded.length - 16));
        iv = head.subarray(head.length - 16);
      }
      const expected = opensslCbc(keys.mac2, iv, padded.subarray(padded.length - 16));
      expect(computeMac(keys, rmacI, message).toString('hex')).toBe(expected.toString('hex'));
    }
  });

  it('a whole number of blocks is MACed without padding', () => {
    const message = Buffer.alloc(32, 0x11);
    const head = opensslCbc(keys.mac1, rmacI, message.subarray(0, 16));
    const expected = opensslCbc(keys.mac2, head, message.subarray(16));
    expect(computeMac(keys, rmacI, message).toString('hex')).toBe(expected.toString('hex'));
  });

  it('data: 0x80 always appended, AES-CBC with S-ENC and the complement of the last MAC as IV', () => {
    const complement = Buffer.from(rmacI.map((b) => ~b & 0xff));
    for (const data of [hex('000102'), Buffer.alloc(16, 0x42)]) {
      const padded = Buffer.alloc(Math.ceil((data.length + 1) / 16) * 16);
      data.copy(padded);
      padded[data.length] = 0x80;
      const sealed = encryptData(keys, rmacI, data);
      expect(sealed.toString('hex')).toBe(opensslCbc(keys.enc, complement, padded).toString('hex'));
      expect(opensslCbc(keys.enc, complement, sealed, true).toString('hex')).toBe(padded.toString('hex'));
      expect(decryptData(keys, rmacI, sealed)?.toString('hex')).toBe(data.toString('hex'));
    }
  });

  it('refuses data whose padding or length is wrong', () => {
    expect(decryptData(keys, rmacI, Buffer.alloc(15))).toBeUndefined();
    expect(decryptData(keys, rmacI, Buffer.alloc(0))).toBeUndefined();
    const noMarker = opensslCbc(keys.enc, Buffer.from(rmacI.map((b) => ~b & 0xff)), Buffer.alloc(16, 0x01));
    expect(decryptData(keys, rmacI, noMarker)).toBeUndefined();
  });
});
