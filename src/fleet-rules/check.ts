import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FleetRulesConfig } from './config.ts';
import { publicKeyOf } from './sign.ts';

/** check-config: the public key file, when given, must hold an Ed25519 public key (PEM). */
export function checkFleetRulesKey(
  fleet: FleetRulesConfig | undefined,
  baseDir: string,
): { key: string; message: string }[] {
  const file = fleet?.rules_public_key_file;
  if (!file) return [];
  try {
    publicKeyOf(readFileSync(resolve(baseDir, file)));
    return [];
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code ? `cannot read it (${code})` : (error as Error).message;
    return [{ key: 'rules_public_key_file', message }];
  }
}
