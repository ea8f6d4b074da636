import { readFileSync } from 'node:fs';
import type { SecretRef } from './types.ts';

/** Reads a secret. The value is never logged; errors name the source, not the content. */
export function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) throw new Error(`secret: environment variable ${ref.env} is not set`);
    return value;
  }
  let value: string;
  try {
    value = readFileSync(ref.file, 'utf8').trim();
  } catch (error) {
    throw new Error(`secret: cannot read ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!value) throw new Error(`secret: ${ref.file} is empty`);
  return value;
}
