import { closeSync, type FSWatcher, openSync, readSync, watch, writeFileSync } from 'node:fs';

/** One line of the sim door's relay log (src/door/relay-log.ts). */
export type RelayRecord =
  | { at: number; kind: 'unlock'; pid: number; committedGrant: number }
  | { at: number; kind: 'lock'; pid: number };

export function parseRelayLine(line: string): RelayRecord | null {
  const unlock = /^(\d+) unlock (\d+) (-?\d+)$/.exec(line);
  if (unlock) {
    return {
      at: Number(unlock[1]),
      kind: 'unlock',
      pid: Number(unlock[2]),
      committedGrant: Number(unlock[3]),
    };
  }
  const lock = /^(\d+) lock (\d+)$/.exec(line);
  return lock ? { at: Number(lock[1]), kind: 'lock', pid: Number(lock[2]) } : null;
}

/**
 * Follows the relay log as the service appends to it (inotify), so the test acts on each relay write
 * the moment it is on disk: its acknowledgement that the relay moved.
 */
export class RelayLogTail {
  readonly records: RelayRecord[] = [];
  private readonly fd: number;
  private readonly watcher: FSWatcher;
  private offset = 0;
  private partial = '';
  private readonly waiters = new Set<() => void>();

  constructor(path: string) {
    writeFileSync(path, '');
    this.fd = openSync(path, 'r');
    this.watcher = watch(path, () => {
      this.readNew();
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  private readNew(): void {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(this.fd, buffer, 0, buffer.length, this.offset);
      if (n === 0) break;
      this.offset += n;
      this.partial += buffer.subarray(0, n).toString();
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) {
      const record = parseRelayLine(line);
      if (record) this.records.push(record);
    }
  }

  of(pid: number): RelayRecord[] {
    this.readNew();
    return this.records.filter((r) => r.pid === pid);
  }

  unlocksOf(pid: number): Extract<RelayRecord, { kind: 'unlock' }>[] {
    return this.of(pid).filter((r): r is Extract<RelayRecord, { kind: 'unlock' }> => r.kind === 'unlock');
  }

  /** Whether this process's relay is locked (its last write, or none yet). */
  lockedFor(pid: number): boolean {
    return this.of(pid).at(-1)?.kind !== 'unlock';
  }

  /** Resolves when `probe` holds, checked at each append; rejects after `timeoutMs`. */
  until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
    this.readNew();
    if (probe()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!probe()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  close(): void {
    this.watcher.close();
    closeSync(this.fd);
  }
}

/**
 * Swipes at one door are decided one after another and each grant's relay write follows its commit, so
 * the k-th unlock of a process belongs to the k-th granted entry that process committed. Each unlock
 * must have that entry, and the relay log's witness must already have seen it committed.
 */
export function relayFaults(witnessed: number[], grantedIds: number[]): string[] {
  const faults: string[] = [];
  witnessed.forEach((seen, i) => {
    const entry = grantedIds[i];
    if (entry === undefined) faults.push(`unlock ${i + 1}: no committed granted entry`);
    else if (seen < entry)
      faults.push(
        `unlock ${i + 1}: the relay moved while the latest committed grant was ${seen}, not its entry ${entry}`,
      );
  });
  return faults;
}
