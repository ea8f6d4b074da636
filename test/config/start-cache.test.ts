import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.ts';
import { type LoadedConfig, loadConfigForStart } from '../../src/config/start-cache.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A start as the CLI makes one, counting the full loads (the YAML parse and the validator). */
function rig() {
  const dir = tempDir('config-cache-');
  const file = join(dir.path, 'dorvakt.yaml');
  writeFileSync(file, readFileSync('config/dorvakt.example.yaml', 'utf8'));
  let loads = 0;
  const start = (over: { build?: string | null; cacheDir?: string | undefined } = {}) =>
    loadConfigForStart(file, {
      cacheDir: 'cacheDir' in over ? over.cacheDir : dir.path,
      build: over.build === undefined ? 'build-1' : over.build,
      absolutePath: resolve(file),
      load: async (text): Promise<LoadedConfig> => {
        loads++;
        return { config: loadConfigText(text, file), migrated: [] };
      },
    });
  return { dir, file, start, loads: () => loads };
}

describe('the config kept between starts', () => {
  it('the second start takes it from the cache, equal to a full load, and the file is owner-only', async () => {
    const { dir, start, loads } = rig();
    try {
      const first = await start();
      expect(first.fromCache).toBe(false);
      const second = await start();
      expect(second.fromCache).toBe(true);
      expect(loads()).toBe(1);
      expect(second.config).toEqual(first.config);
      expect(statSync(join(dir.path, 'config.json')).mode & 0o777).toBe(0o600);
    } finally {
      dir.cleanup();
    }
  });

  it('an edit of the file, a new build or a damaged cache loads in full again', async () => {
    const { dir, file, start, loads } = rig();
    try {
      await start();
      writeFileSync(file, readFileSync(file, 'utf8').replace('language: nb', 'language: da'));
      const edited = await start();
      expect(edited.fromCache).toBe(false);
      expect(edited.config.site.language).toBe('da');
      expect((await start({ build: 'build-2' })).fromCache).toBe(false);
      writeFileSync(join(dir.path, 'config.json'), '{"key": "cut sho');
      expect((await start({ build: 'build-2' })).fromCache).toBe(false);
      expect((await start({ build: 'build-2' })).fromCache).toBe(true);
      expect(loads()).toBe(4);
    } finally {
      dir.cleanup();
    }
  });

  it('keeps nothing without a cache directory or a build (run from source)', async () => {
    const { dir, start, loads } = rig();
    try {
      await start({ cacheDir: undefined });
      await start({ cacheDir: undefined });
      await start({ build: null });
      await start({ build: null });
      expect(loads()).toBe(4);
    } finally {
      dir.cleanup();
    }
  });

  it('remembers the migrations applied in memory, so every start still warns', async () => {
    const dir = tempDir('config-cache-');
    const file = join(dir.path, 'dorvakt.yaml');
    writeFileSync(file, 'x');
    const migrated = [{ key: 'old', version: 2, note: 'renamed' }];
    const options = {
      cacheDir: dir.path,
      build: 'b',
      absolutePath: file,
      load: async () => ({ config: { site: { id: 's' } } as unknown as LoadedConfig['config'], migrated }),
    };
    try {
      await loadConfigForStart(file, options);
      expect(await loadConfigForStart(file, options)).toMatchObject({ fromCache: true, migrated });
    } finally {
      dir.cleanup();
    }
  });
});
