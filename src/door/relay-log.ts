import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * The sim door's outside record of its relay (fault tests): one fsynced line per write, made at the
 * moment of the write, so it survives kill -9 and shows what the relay did, not what the service says.
 *
 *   `<epoch ms> unlock <pid> <highest committed granted entry id>`
 *   `<epoch ms> lock <pid>`
 *
 * The entry id is read through its own read-only connection to the store, as a witness outside the
 * gate's connection: it sees only what was committed when the relay moved.
 */
export class RelayLog {
  private fd: number | null;
  private store: Database.Database | null = null;
  private latestGrant: Database.Statement | null = null;

  constructor(
    path: string,
    private readonly storePath: string | undefined,
  ) {
    this.fd = openSync(path, 'a');
  }

  write(unlocked: boolean): void {
    if (this.fd === null) return;
    const line = unlocked
      ? `${Date.now()} unlock ${process.pid} ${this.committedGrant()}\n`
      : `${Date.now()} lock ${process.pid}\n`;
    writeSync(this.fd, line);
    fsyncSync(this.fd);
  }

  /** The highest granted entry id committed right now; -1 when the store cannot be read. */
  private committedGrant(): number {
    if (this.storePath === undefined) return -1;
    try {
      if (!this.latestGrant) {
        this.store = new Database(this.storePath, { readonly: true, fileMustExist: true });
        this.latestGrant = this.store
          .prepare("SELECT id FROM entries WHERE outcome = 'granted' ORDER BY id DESC LIMIT 1")
          .pluck();
      }
      return (this.latestGrant.get() as number | undefined) ?? 0;
    } catch {
      // not there yet (a store being created): try again at the next write
      this.store?.close();
      this.store = null;
      this.latestGrant = null;
      return -1;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.store?.close();
    this.store = null;
    this.latestGrant = null;
  }
}
