/**
 * The loaded config, kept between starts of the service: reading the YAML and running the config's validator
 * cost more than anything else a start does before the door is ready, and after a power cut the file is the
 * same as before. The key is the build, the file's absolute path and its exact text, so an edit, a move or an
 * upgrade (a new build) loads it in full again. Kept in systemd's CacheDirectory; without one, nothing is kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppliedMigration } from './migrate.ts';
import type { DorvaktConfig } from './types.ts';

export interface LoadedConfig {
  config: DorvaktConfig;
  /** Migrations applied in memory (the service warns about each at every start). */
  migrated: AppliedMigration[];
}

const CACHE_FILE = 'config.json';

/** The build's identity, written by `npm run build` (dist/build-id); null when run from source. */
export function buildId(file = new URL('../build-id', import.meta.url)): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export function configCacheKey(build: string, absolutePath: string, text: string): string {
  return createHash('sha256').update(`${build}\0${absolutePath}\0${text}`).digest('hex');
}

/** The cached config under this key, or null (none, another key, unreadable or damaged). */
export function readCachedConfig(dir: string, key: string): LoadedConfig | null {
  try {
    const cached = JSON.parse(readFileSync(join(dir, CACHE_FILE), 'utf8')) as {
      key?: unknown;
    } & LoadedConfig;
    if (cached.key !== key || typeof cached.config !== 'object' || !Array.isArray(cached.migrated))
      return null;
    return { config: cached.config, migrated: cached.migrated };
  } catch {
    return null;
  }
}

/** Written whole or not at all (a power cut mid-write leaves the old file). Owner-only: it holds the config. */
export function writeCachedConfig(dir: string, key: string, loaded: LoadedConfig): void {
  const path = join(dir, CACHE_FILE);
  const partial = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(partial, JSON.stringify({ key, ...loaded }), { mode: 0o600 });
  renameSync(partial, path);
}

/**
 * The config for a start: from the cache when its key matches, else `load` (the full parse and checks), whose
 * result is then cached. A cache that cannot be written only costs the next start its speed.
 */
export async function loadConfigForStart(
  file: string,
  options: {
    cacheDir: string | undefined;
    build: string | null;
    absolutePath: string;
    load: (text: string) => Promise<LoadedConfig>;
    onCacheError?: (error: Error) => void;
  },
): Promise<LoadedConfig & { fromCache: boolean }> {
  const text = readFileSync(file, 'utf8');
  const { cacheDir, build } = options;
  const key = cacheDir && build ? configCacheKey(build, options.absolutePath, text) : null;
  const cached = key ? readCachedConfig(cacheDir!, key) : null;
  if (cached) return { ...cached, fromCache: true };
  const loaded = await options.load(text);
  if (key) {
    try {
      writeCachedConfig(cacheDir!, key, loaded);
    } catch (error) {
      options.onCacheError?.(error as Error);
    }
  }
  return { ...loaded, fromCache: false };
}
