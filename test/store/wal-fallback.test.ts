import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { openDoorStore } from '../../src/store/db.ts';
import { WalFallbackCheckpoint } from '../../src/store/wal-fallback.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const MB = 1024 * 1024;

describe('the door checkpoints the WAL only while the worker is down', () => {
  it('leaves the WAL to a running worker, checkpoints it once the worker is gone, and stops when told', async () => {
    const dir = tempDir('wal-fallback-');
    const path = join(dir.path, 'store.sqlite');
    const db = openDoorStore(path);
    let workerRunning = true;
    const fallback = new WalFallbackCheckpoint(db, () => workerRunning, createLogger('silent'), 20);
    try {
      db.exec('CREATE TABLE filler (x BLOB)');
      const insert = db.prepare('INSERT INTO filler (x) VALUES (randomblob(?))');
      for (let i = 0; i < 20; i++) db.transaction(() => insert.run(100 * 1024))();
      const before = statSync(path).size;
      fallback.start();
      await new Promise((r) => setTimeout(r, 150));
      expect(statSync(path).size).toBe(before);

      workerRunning = false;
      await waitFor(() => statSync(path).size > before + MB, 5000, 'the checkpoint of the door process');

      fallback.stop();
      const after = statSync(path).size;
      for (let i = 0; i < 20; i++) db.transaction(() => insert.run(100 * 1024))();
      await new Promise((r) => setTimeout(r, 150));
      expect(statSync(path).size).toBe(after);
    } finally {
      fallback.stop();
      db.close();
      dir.cleanup();
    }
  });
});
