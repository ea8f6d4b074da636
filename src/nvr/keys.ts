import type { SecretRef } from '../config/secret-ref.ts';
import { checkKey, type NvrKey } from '../contract/nvr-auth.ts';
import type { NvrAuthConfig } from './config.ts';

// Apart from the config's checks: the door reads its keys at start without loading node-cron, which they need.
/** Reads the keys' secrets (at start, never logged); throws naming the key id when one is unusable. */
export function readNvrKeys(auth: NvrAuthConfig, readSecret: (ref: SecretRef) => string): NvrKey[] {
  return auth.keys.map((k) => {
    let secret: string;
    try {
      secret = readSecret(k.secret);
    } catch (error) {
      throw new Error(`nvr.auth key ${k.id}: ${(error as Error).message}`);
    }
    const key = { id: k.id, secret };
    checkKey(key);
    return key;
  });
}
