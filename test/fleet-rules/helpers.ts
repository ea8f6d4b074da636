import { EventEmitter } from 'node:events';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { CardReader, CardReaderEvents } from '../../src/reader/reader.ts';
import type { FleetRules } from '../../src/fleet-rules/document.ts';

/** A reader that never reads: the tests hand swipes to the gate themselves. */
export class IdleReader extends EventEmitter<CardReaderEvents> implements CardReader {
  readonly name = 'idle';
  readonly online = true;
  start(): void {
    this.emit('status', 'online');
  }
  async stop(): Promise<void> {}
}

export function fleetKeys(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

export function rules(version: number, more: Partial<FleetRules> = {}): FleetRules {
  return { version, issued_at: new Date().toISOString(), blocks: [], passes: [], exceptions: [], ...more };
}
