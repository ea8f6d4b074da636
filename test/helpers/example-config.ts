import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const EXAMPLE = join(import.meta.dirname, '../../config/dorvakt.example.yaml');

/**
 * The example config as check-config sees it on an installed machine: a copy in dir whose card HMAC key
 * file exists there (0600), since check-config refuses a missing secret file.
 */
export function installedExample(dir: string): string {
  const key = join(dir, 'card-hmac.key');
  writeFileSync(key, 'example-card-hmac-key-0123456789\n', { mode: 0o600 });
  const text = readFileSync(EXAMPLE, 'utf8');
  if (!text.includes('/etc/dorvakt/card-hmac.key')) throw new Error('the example names another key file');
  const file = join(dir, 'dorvakt.yaml');
  writeFileSync(file, text.replace('/etc/dorvakt/card-hmac.key', key));
  return file;
}
