import { readFileSync } from 'node:fs';

/** The running Dørvakt's version, from its package.json (two levels up from src/ops and dist/ops alike). */
export function softwareVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' && pkg.version ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
