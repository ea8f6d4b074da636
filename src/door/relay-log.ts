import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { journalPathFor } from '../store/door-journal.ts';

/**
 * The sim door's outside record of its relay (fault tests): one fsynced line per write, made at the
 * moment of the write, so it survives kill -9 and shows what the relay did, not what the service says.
 *
 *   `<epoch ms> unlock <pid> <highest committed granted entry id>`
 *   `<epoch ms> lock <pid>`
 *
 * The entry id is read through read-only connections of its own to the store and the door's journal, as a
 * witness outside the gate's connections: it sees only what was committed when the relay moved.
 */
export class RelayLog {
  private fd: number | null;
  private readonly witnesses: Witness[];

  constructor(path: string, storePath: string | undefined) {
    this.fd = openSync(path, 'a');
    // The swipe commits to the door's journal; the row moves on to the store after the relay.
    this.witnesses =
      storePath === undefined ? [] : [new Witness(storePath), new Witness(journalPathFor(storePath))];
  }

  write(unlocked: boolean): void {
    if (this.fd === null) return;
    const line = unlocked
      ? `${Date.now()} unlock ${process.pid} ${this.committedGrant()}\n`
      : `${Date.now()} lock ${process.pid}\n`;
    writeSync(this.fd, line);
    fsyncSync(this.fd);
  }

  /** The highest granted entry id committed right now in the store or the journal; -1 when neither can be read. */
  private committedGrant(): number {
    let highest = -1;
    for (const witness of this.witnesses) highest = Math.max(highest, witness.latestGrant());
    return highest;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    for (const witness of this.witnesses) witness.close();
  }
}

/** A read-only connection to one file holding entries, opened once the file is there. */
class Witness {
  private db: Database.Database | null = null;
  private latest: Database.Statement | null = null;

  constructor(private readonly path: string) {}

  /** -1 when the file cannot be read (yet). */
  latestGrant(): number {
    try {
      if (!this.latest) {
        this.db = new Database(this.path, { readonly: true, fileMustExist: true });
        this.latest = this.db
          .prepare("SELECT id FROM entries WHERE outcome = 'granted' ORDER BY id DESC LIMIT 1")
          .pluck();
      }
      return (this.latest.get() as number | undefined) ?? 0;
    } catch {
      // not there yet (a store being created): try again at the next write
      this.close();
      return -1;
    }
  }

  close(): void {
    this.db?.close();
    this.db = null;
    this.latest = null;
  }
}
