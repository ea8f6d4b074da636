/**
 * Controller side of camera retention: scheduled purge requests, verification of the answers and of the
 * recorder's retained status, legal holds and police exports. This class wires the parts and runs their
 * periodic work; each job lives in its own module:
 *   outbox.ts   the durable request queue (resend with backoff, answers matched by id)
 *   link.ts     the signed MQTT channel to the agent
 *   purge.ts    purge requests and the verification of their answers
 *   exports.ts  export cases and legal holds
 *   status.ts   the recorder's status and the retention health
 *   alarms.ts   retention_breach and nvr_forgery
 *   state.ts    what survives a restart (nvr_state)
 */
import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import { nvrTopics } from '../contract/nvr.ts';
import type { NvrKey, NvrRejectReason } from '../contract/nvr-auth.ts';
import type { ExportCase, ExportOpenInput, NvrAdmin, RetentionHealth } from '../contract/nvr-admin.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import type { DeferredWrites } from '../store/deferred-writes.ts';
import { machineZone, scheduleWallClock, type WallClockCron } from '../time/wall-clock-cron.ts';
import { BreachAlarm, ForgeryAlarm } from './alarms.ts';
import type { NvrConfig } from './config.ts';
import { ExportCases } from './exports.ts';
import { RecorderLink } from './link.ts';
import { Outbox } from './outbox.ts';
import { PurgeSweep, type PurgeVerified } from './purge.ts';
import { NvrState } from './state.ts';
import { RecorderStatus } from './status.ts';

export { caseDirName, inCaseDir } from './exports.ts';
export type { PurgeVerified } from './purge.ts';

export interface NvrControllerDeps {
  config: NvrConfig;
  db: Db;
  /**
   * The door process's queue of store writes: each answer, tick and order then runs as one transaction when the
   * store's lock is free, never waiting for it on the door's event loop. Without it (the CLI) they run at once.
   */
  writes?: DeferredWrites | undefined;
  /** The service's connected client; null in a process that only queues work (the CLI). */
  mqtt: MqttClient | null;
  alarms: Alarms;
  log: Logger;
  now?: () => Date;
  /** How often due resends, hold expiry and the status age are checked (default from answer_timeout_ms). */
  tickMs?: number;
  /** Keys shared with the agent (`readNvrKeys`); required with an MQTT client. */
  keys?: NvrKey[];
  /** Called for every dropped message (metrics `dorvakt_nvr_rejected_total`). */
  onRejected?: (reason: NvrRejectReason) => void;
  /** Called after each purge answer has been checked (metrics, the benchmark). */
  onPurgeVerified?: (result: PurgeVerified) => void;
}

export class NvrController implements NvrAdmin {
  private readonly config: NvrConfig;
  private readonly log: Logger;
  private readonly tickMs: number;
  private readonly link: RecorderLink;
  private readonly outbox: Outbox;
  private readonly breach: BreachAlarm;
  private readonly forgery: ForgeryAlarm;
  private readonly purge: PurgeSweep;
  private readonly exports: ExportCases;
  private readonly status: RecorderStatus;
  private cronTask: WallClockCron | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private running = false;
  private readonly db: Db;
  private readonly writes: DeferredWrites | undefined;

  constructor(deps: NvrControllerDeps) {
    const { config, db, alarms } = deps;
    const log = deps.log.child({ mod: 'nvr' });
    const now = deps.now ?? (() => new Date());
    const nowMs = (): number => now().getTime();
    const topics = nvrTopics(config.base_topic);
    this.config = config;
    this.log = log;
    this.db = db;
    this.writes = deps.writes;
    this.link = new RecorderLink({
      mqtt: deps.mqtt,
      keys: deps.keys,
      maxSkewSeconds: config.auth?.max_skew_seconds,
      topics,
      log,
      now,
    });
    this.outbox = new Outbox({
      config,
      db,
      alarms,
      nowMs,
      connected: () => this.link.connected,
      publish: (row) => this.link.publish(row),
    });
    const state = new NvrState(db);
    this.breach = new BreachAlarm(alarms, state);
    this.forgery = new ForgeryAlarm({
      config,
      alarms,
      state,
      log,
      nowMs,
      onRejected: deps.onRejected,
      inStore: (what, run, key) => this.inStore(what, run, key),
    });
    this.exports = new ExportCases({ config, db, alarms, log, nowMs, topics, outbox: this.outbox });
    this.purge = new PurgeSweep({
      config,
      db,
      alarms,
      log,
      nowMs,
      topics,
      outbox: this.outbox,
      state,
      breach: this.breach,
      activeHolds: (at) => this.exports.activeHolds(at),
      onPurgeVerified: deps.onPurgeVerified,
    });
    this.status = new RecorderStatus({
      config,
      alarms,
      log,
      nowMs,
      topics,
      outbox: this.outbox,
      state,
      breach: this.breach,
      forgery: this.forgery,
    });
    this.tickMs = deps.tickMs ?? Math.min(1000, Math.max(20, Math.floor(config.answer_timeout_ms / 4)));
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    this.running = true;
    this.link.start({
      purgeResponse: (body) => this.inStore('nvr purge answer', () => this.purge.verify(body)),
      exportResponse: (body) => this.inStore('nvr export answer', () => this.exports.answer(body)),
      status: (body, signed, retained) =>
        this.inStore('nvr status', () => this.status.take(body, signed, retained)),
      // Logged and counted at once; only a forgery's store work waits, one however many arrive.
      rejected: (topic, reason, why) => this.forgery.reject(topic, reason, why),
      subscribed: () => {
        if (!this.running) return;
        this.inStore('nvr resend', () => this.outbox.resendAll(), 'nvr resend');
      },
    });
    this.cronTask = scheduleWallClock(
      this.config.purge_cron,
      () => this.inStore('nvr purge request', () => void this.purgeNow()),
      { name: 'nvr-purge', timezone: machineZone() },
    );
    this.ticker = setInterval(() => this.tick(), this.tickMs);
    this.ticker.unref();
    this.tick();
    this.breach.update();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    if (this.cronTask) await this.cronTask.stop();
    this.cronTask = null;
    await this.link.stop();
  }

  /** Periodic work; public so a caller (or a test) can run it on demand. */
  tick(): void {
    // One waiting tick is enough: it does what is due by the time the lock is free.
    this.inStore(
      'nvr tick',
      () => {
        this.exports.expireHolds();
        this.outbox.sendDue();
        this.status.checkAge();
        this.forgery.clearWhenQuiet();
      },
      'nvr tick',
    );
  }

  /**
   * Work that reads and writes the store, as one transaction: it changes nothing when it finds the lock taken,
   * so the queue can run it again later whole (an answer is not taken for a replay of itself).
   */
  private inStore(what: string, run: () => void, key?: string): void {
    const inTransaction = () => this.db.transaction(run)();
    if (this.writes) {
      this.writes.write(what, inTransaction, key);
      return;
    }
    try {
      inTransaction();
    } catch (error) {
      this.log.error({ what, err: (error as Error).message }, 'nvr: store work failed');
    }
  }

  // ---------------------------------------------------------------- purge

  /** Queues a purge request (superseding unanswered older ones) and sends it when connected. Returns its id. */
  purgeNow(): string {
    return this.purge.request();
  }

  // ---------------------------------------------------------------- exports and holds (NvrAdmin)

  openExport(input: ExportOpenInput): ExportCase {
    return this.exports.open(input);
  }

  closeExport(id: string, actor: string, reason: string): ExportCase {
    return this.exports.close(id, actor, reason);
  }

  renewHold(id: string, actor: string, reason: string): ExportCase {
    return this.exports.renewHold(id, actor, reason);
  }

  listExports(): ExportCase[] {
    return this.exports.list();
  }

  getExport(id: string): ExportCase {
    return this.exports.get(id);
  }

  // ---------------------------------------------------------------- health

  health(): RetentionHealth {
    return this.status.health();
  }
}
