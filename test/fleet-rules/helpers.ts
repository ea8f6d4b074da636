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

/** The branch these tests (and the rules bench) start: one door on sim hardware, the fleet's public key in fleet.pub. */
export const branchYaml = (
  site: string,
  mqttUrl: string,
) => `site: { id: ${site}, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: key } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: /dev/null }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: store.sqlite }
mqtt: { url: "${mqttUrl}" }
fleet: { rules_public_key_file: fleet.pub }
`;
