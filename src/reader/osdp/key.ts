/** An OSDP reader key (SCBK) as kept in a secret: 32 hex digits, spaces and colons allowed. */
export function parseKey(text: string): Buffer {
  const hex = text.replace(/[\s:]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error('an OSDP key is 32 hex digits');
  return Buffer.from(hex, 'hex');
}

export const formatKey = (key: Uint8Array): string => `${Buffer.from(key).toString('hex')}\n`;
