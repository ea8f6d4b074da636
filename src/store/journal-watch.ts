import type { Alarms } from '../alarms/alarms.ts';

export interface JournalWatchOptions {
  /** Wall-clock ms of the oldest entry still only in the door's journal, or null when none is. */
  oldestUndelivered: () => number | null;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  /** An entry older than this still in the journal raises the alarm. */
  afterMs?: number;
  everyMs?: number;
  now?: () => number;
}

/**
 * The door keeps working when the store cannot take its entries (the journal holds them), so that state would
 * otherwise go unseen until a report came out short. Raises `entries_undelivered` while an entry has waited
 * in the journal too long; clears it once the store has it.
 */
export function watchJournal(options: JournalWatchOptions): { check(): void; stop(): void } {
  const afterMs = options.afterMs ?? 60_000;
  const now = options.now ?? Date.now;
  const check = () => {
    const oldest = options.oldestUndelivered();
    if (oldest !== null && now() - oldest >= afterMs)
      options.alarms.raise('entries_undelivered', '', `waiting since ${new Date(oldest).toISOString()}`);
    else options.alarms.clear('entries_undelivered');
  };
  const timer = setInterval(check, options.everyMs ?? 15_000);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
