/** One established secure channel, control panel side: seals commands and opens replies, chaining MACs. */
import { encodePacket, MAC_LENGTH, type DecodedPacket, type Packet, SCS } from './protocol.ts';
import { computeMac, decryptData, encryptData, sameBytes, type SessionKeys } from './secure-channel.ts';

export class CpSecureSession {
  /** The last reply MAC (RMAC_I at first): IV of the next command's MAC, complemented for its data. */
  private rmac: Buffer;
  /** The last command MAC: IV of its reply's MAC, complemented for the reply's data. */
  private cmac: Buffer = Buffer.alloc(16);

  constructor(
    private readonly keys: SessionKeys,
    rmacI: Buffer,
  ) {
    this.rmac = rmacI;
  }

  seal(packet: Omit<Packet, 'scb'>): Uint8Array {
    const encrypted = packet.data.length > 0;
    const data = encrypted ? encryptData(this.keys, this.rmac, packet.data) : packet.data;
    const scb = Uint8Array.of(2, encrypted ? SCS.CMD_ENC : SCS.CMD_MAC);
    return encodePacket({ ...packet, scb, data }, (signed) => {
      this.cmac = computeMac(this.keys, this.rmac, signed);
      return this.cmac.subarray(0, MAC_LENGTH);
    });
  }

  /** The reply's plain data, or undefined when it is not a correctly MACed secure reply. */
  open(reply: DecodedPacket): Uint8Array | undefined {
    const type = reply.scb?.[1];
    if (reply.scb?.length !== 2 || (type !== SCS.REPLY_MAC && type !== SCS.REPLY_ENC) || !reply.mac)
      return undefined;
    const mac = computeMac(this.keys, this.cmac, reply.signed);
    if (!sameBytes(mac.subarray(0, MAC_LENGTH), reply.mac)) return undefined;
    this.rmac = mac;
    if (type === SCS.REPLY_MAC) return reply.data.length === 0 ? reply.data : undefined;
    return decryptData(this.keys, this.cmac, reply.data);
  }
}
