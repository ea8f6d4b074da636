import { audit } from '../audit/audit.ts';
import { type RemoveExpiredResult, removeExpiredLocalAccess } from '../local-access/expired.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import { walDataSync } from '../store/wal-sync.ts';
import { scheduleWallClock, type WallClockCron } from '../time/wall-clock-cron.ts';
import { type AnonymiseResult, anonymiseEntriesAsync, restoreDroppedIndexes } from './anonymise.ts';
import { type PurgeInactiveResult, prunePinFailures, purgeInactivePatrons } from './inactive.ts';

/** The part of the config the jobs read (a DorvaktConfig fits). */
export interface RetentionConfig {
  site: { timezone: string };
  entries: { identified_days: number; anonymise_at?: string | undefined };
  patrons: { inactive_years: number };
}

export type RetentionJob = 'anonymise' | 'inactive' | 'pins' | 'local_access';

/** Cron expressions, evaluated in the site time zone. */
export const DEFAULT_SCHEDULES: Record<RetentionJob, string> = {
  anonymise: '15 3 * * *', // nightly
  inactive: '30 4 * * 0', // Sunday night
  pins: '7 * * * *', // hourly
  local_access: '45 2 * * *', // nightly: expired blocks and passes
};

export interface RetentionDeps {
  db: Db;
  config: RetentionConfig;
  log: Pick<Logger, 'info' | 'error'>;
  /** Clock for tests. */
  now?: () => number;
  /** Overrides (tests use six-field, per-second expressions). */
  schedules?: Partial<Record<RetentionJob, string>>;
  /** Entries per anonymisation transaction; the job yields to the event loop between them. */
  batchSize?: number;
  /** Anonymisation shares the store with the door process: see AnonymiseOptions.transactionBudgetMs (set, its batches also commit unsynced and sync the log outside the lock: walSync). */
  transactionBudgetMs?: number;
}

export interface RetentionRunResult {
  anonymise?: AnonymiseResult;
  inactive?: PurgeInactiveResult;
  pinFailures?: number;
  localAccess?: RemoveExpiredResult;
}

export interface RetentionJobs {
  /** Stops the schedules and waits for a running job to finish its current batch. */
  stop(): Promise<void>;
  /** Runs one job now, as the schedule would (skipped and undefined if that job is already running). */
  run(job: RetentionJob): Promise<RetentionRunResult | undefined>;
}

/**
 * One job run, audited as actor 'system'. Anonymisation commits batch by batch and yields between them
 * so swipes are not held up behind a backlog; every job is safe to repeat and to interrupt.
 */
async function runJob(
  deps: RetentionDeps,
  job: RetentionJob,
  shouldStop: () => boolean,
): Promise<RetentionRunResult> {
  const { db, config, log } = deps;
  const now = deps.now?.() ?? Date.now();
  try {
    if (job === 'anonymise') {
      const { stopped, ...total } = await anonymiseEntriesAsync(
        db,
        {
          identifiedDays: config.entries.identified_days,
          timezone: config.site.timezone,
          now,
          batchSize: deps.batchSize ?? 20_000,
          ...(deps.transactionBudgetMs === undefined
            ? {}
            : { transactionBudgetMs: deps.transactionBudgetMs, walSync: walDataSync(db) }),
        },
        shouldStop,
      );
      audit(
        db,
        {
          actor: 'system',
          action: 'retention.anonymise',
          detail: { ...total, identifiedDays: config.entries.identified_days, complete: !stopped },
        },
        now,
      );
      log.info({ job, rows: total.rows, batches: total.batches }, 'entries anonymised');
      return { anonymise: total };
    }
    if (job === 'inactive') {
      const result = purgeInactivePatrons(db, { inactiveYears: config.patrons.inactive_years, now });
      audit(
        db,
        {
          actor: 'system',
          action: 'retention.purge_inactive',
          detail: { ...result, inactiveYears: config.patrons.inactive_years },
        },
        now,
      );
      log.info({ job, ...result }, 'inactive patron records purged');
      return { inactive: result };
    }
    if (job === 'local_access') {
      // Each removal has its own audit row (removeExpiredLocalAccess).
      const localAccess = removeExpiredLocalAccess(db, now);
      if (localAccess.blocks + localAccess.passes > 0)
        log.info({ job, ...localAccess }, 'expired blocks and passes removed');
      return { localAccess };
    }
    const pinFailures = prunePinFailures(db, { now });
    // Hourly and usually empty: only a run that deleted something is worth an audit row.
    if (pinFailures > 0)
      audit(db, { actor: 'system', action: 'retention.prune_pin_failures', detail: { pinFailures } }, now);
    return { pinFailures };
  } catch (error) {
    log.error({ job, err: (error as Error).message }, 'retention job failed');
    try {
      audit(
        db,
        { actor: 'system', action: `retention.${job}.failed`, detail: { error: (error as Error).message } },
        now,
      );
    } catch {
      // The store itself failing is already in the log.
    }
    throw error;
  }
}

function configuredSchedule(config: RetentionConfig, job: RetentionJob): string | undefined {
  return job === 'anonymise' ? config.entries.anonymise_at : undefined;
}

/**
 * Schedules anonymisation (nightly, `entries.anonymise_at`), the inactive purge (weekly), PIN-failure pruning (hourly) and the removal
 * of expired blocks and passes (nightly).
 */
export function startRetentionJobs(deps: RetentionDeps): RetentionJobs {
  const running = new Map<RetentionJob, Promise<RetentionRunResult>>();
  let stopped = false;
  // A bulk anonymisation killed midway leaves entries indexes to rebuild.
  const restored = restoreDroppedIndexes(deps.db);
  if (restored > 0)
    deps.log.info({ restored }, 'rebuilt entries indexes left by an interrupted anonymisation');

  const run = async (job: RetentionJob): Promise<RetentionRunResult | undefined> => {
    if (running.has(job) || stopped) return undefined;
    const p = runJob(deps, job, () => stopped);
    running.set(job, p);
    try {
      return await p;
    } finally {
      running.delete(job);
    }
  };

  // On the site's wall clock, DST-safe: a nightly time in a skipped or repeated hour runs once.
  const tasks: WallClockCron[] = (Object.keys(DEFAULT_SCHEDULES) as RetentionJob[]).map((job) =>
    scheduleWallClock(
      deps.schedules?.[job] ?? configuredSchedule(deps.config, job) ?? DEFAULT_SCHEDULES[job],
      async () => {
        // Errors are logged and audited in runJob; the schedule keeps going.
        await run(job).catch(() => undefined);
      },
      { timezone: deps.config.site.timezone, name: `retention-${job}` },
    ),
  );

  return {
    run,
    async stop() {
      stopped = true;
      await Promise.all(tasks.map((t) => t.stop()));
      await Promise.allSettled([...running.values()]);
    },
  };
}

/** Runs the chosen jobs (default all) once, in order; for the CLI and for tests. */
export async function runRetentionNow(
  deps: Omit<RetentionDeps, 'schedules'>,
  jobs: RetentionJob[] = ['anonymise', 'pins', 'inactive', 'local_access'],
): Promise<RetentionRunResult> {
  const result: RetentionRunResult = {};
  for (const job of jobs) Object.assign(result, await runJob(deps, job, () => false));
  return result;
}
