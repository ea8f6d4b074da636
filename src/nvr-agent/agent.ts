/**
 * The recorder-side agent: applies purge and export requests from MQTT to the recorder (through the Recorder
 * interface: files on disk, Frigate's API, …), answers each (a repeated id gets the same answer), publishes a
 * retained status, and purges on its own schedule so retention holds while the controller is away. Holds are
 * remembered across restarts in the state file; an export is a copy made at once.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  connect,
  type IClientOptions,
  type IClientPublishOptions,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import {
  type ComplianceFinding,
  type ExportRequest,
  type ExportResponse,
  type HoldWindow,
  MAX_NVR_PAYLOAD_BYTES,
  type NvrStatus,
  nvrTopics,
  type PurgeRequest,
  type PurgeResponse,
} from '../contract/nvr.ts';
import type { Logger } from '../log/logger.ts';
import { machineZone, scheduleWallClock, type WallClockCron } from '../time/wall-clock-cron.ts';
import { scanMedia } from './compliance/media-scan.ts';
import { checkOwnExports } from './compliance/own-exports.ts';
import { mqttTls } from '../events/mqtt-tls.ts';
import { AgentGuard, readAgentKeys } from './auth.ts';
import type { AgentConfig } from './config.ts';
import { ExportRefusal, type ExportJob, exportSegments, finishedExport, preparedCase } from './export.ts';
import type { Hold, PurgePlan, Recorder, RecorderPurgeResult } from './recorder.ts';
import { createRecorder } from './recorders/index.ts';
import { parseExportRequest, parsePurgeRequest } from './requests.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MAX_REMEMBERED_ANSWERS = 500;
/** Clocks of the controller and the recorder host may differ this much. */
const CLOCK_SKEW_MS = 60_000;
/** Findings in one status; the controller accepts at most 200, and skipped places come on top. */
const MAX_FINDINGS = 100;

interface ExportHold {
  id: string;
  /** The export's case folder, for the compliance scan's "open case" test. */
  case?: string;
  /** The request's ts: the hold lapses `hold_max_days` after it. */
  ts: string;
  hold: HoldWindow;
}

interface AgentState {
  /** Holds from the newest purge request (by its ts): the controller's full list at that time. */
  purgeHolds: { ts: string; holds: HoldWindow[] } | null;
  /**
   * Export windows: kept until their lifetime ends, whatever later purge requests list; a case the newest purge
   * list still names keeps its hold past that lifetime (the controller renews open cases).
   */
  exportHolds: ExportHold[];
  /** Case folders this agent created in exports_dir: the only ones it may ever delete (an unfinished attempt). */
  createdCases: { case: string; id: string }[];
  answers: { id: string; kind: 'purge' | 'export'; answer: PurgeResponse | ExportResponse }[];
}

export interface AgentDeps {
  config: AgentConfig;
  log: Logger;
  now?: () => Date;
  /** Extra client options (tests shorten reconnectPeriod). */
  mqttOptions?: IClientOptions;
  /** Replaces the recorder built from `config.recorder` (tests). */
  recorder?: Recorder;
}

export class NvrAgent {
  private readonly config: AgentConfig;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly topics: ReturnType<typeof nvrTopics>;
  private readonly mqttOptions: IClientOptions;
  private readonly recorder: Recorder;
  private client: MqttClient | null = null;
  private cronTask: WallClockCron | null = null;
  private state: AgentState = { purgeHolds: null, exportHolds: [], createdCases: [], answers: [] };
  private purgeChain: Promise<unknown> = Promise.resolve();
  private exportChain: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<string>();
  private lastStatus: NvrStatus | null = null;
  private guard: AgentGuard | null = null;
  private statusTimer: NodeJS.Timeout | null = null;

  constructor(deps: AgentDeps) {
    this.config = deps.config;
    this.log = deps.log.child({ mod: 'nvr-agent' });
    this.now = deps.now ?? (() => new Date());
    this.topics = nvrTopics(this.config.mqtt.base_topic);
    this.mqttOptions = deps.mqttOptions ?? {};
    this.recorder =
      deps.recorder ?? createRecorder(this.config.recorder, this.log, { now: () => this.now().getTime() });
  }

  async start(): Promise<void> {
    this.loadState();
    const keys = readAgentKeys(this.config.auth);
    this.guard = new AgentGuard(keys, this.config.auth.max_skew_seconds, this.now);
    for (const warning of this.config.warnings ?? []) this.log.warn({ warning }, 'agent config');
    try {
      await this.recorder.start();
    } catch (error) {
      // A recorder that is down now may be up at the next purge; its errors are answered then.
      this.log.error({ err: (error as Error).message }, 'recorder did not start');
    }
    const { mqtt } = this.config;
    const v5 = mqtt.protocol_version === 5;
    const client = connect(mqtt.url, {
      clientId: mqtt.client_id,
      // A persistent session keeps requests queued while the agent is down.
      clean: false,
      protocolVersion: mqtt.protocol_version,
      ...(v5 ? { properties: { sessionExpiryInterval: 7 * 86_400 } } : {}),
      reconnectPeriod: 1000,
      // The default pre-builds 65,536 two-byte Buffers (≈ 6 MB of heap) to save an allocation per packet.
      writeCache: false,
      ...(mqtt.username ? { username: mqtt.username } : {}),
      ...(mqtt.password_file ? { password: readFileSync(mqtt.password_file, 'utf8').trim() } : {}),
      ...mqttTls(mqtt.tls),
      ...this.mqttOptions,
    });
    this.client = client;
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.on('connect', () => {
      // Small request/answer messages: Nagle's algorithm would hold each one for a delayed ACK (~40 ms).
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      this.log.info({ url: mqtt.url }, 'connected to broker');
      client.subscribe([this.topics.purgeRequest, this.topics.exportRequest], { qos: 1 }, (err) => {
        if (err) this.log.error({ err: err.message }, 'subscribe failed');
      });
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'mqtt error'));
    this.cronTask = scheduleWallClock(this.config.purge_cron, () => void this.ownPurge(), {
      name: 'nvr-agent-purge',
      timezone: machineZone(),
    });
    // Enforce retention right away after downtime.
    void this.ownPurge();
  }

  async stop(): Promise<void> {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
    if (this.cronTask) await this.cronTask.stop();
    this.cronTask = null;
    await this.idle();
    if (this.client) await this.client.endAsync();
    this.client = null;
    await this.recorder.stop();
  }

  /** Resolves when queued purges and exports have finished. */
  async idle(): Promise<void> {
    for (;;) {
      const [p, e] = [this.purgeChain, this.exportChain];
      await Promise.all([p, e]);
      if (p === this.purgeChain && e === this.exportChain) return;
    }
  }

  get status(): NvrStatus | null {
    return this.lastStatus;
  }

  /** The purge on the agent's own schedule: its own retention, the holds it knows. */
  ownPurge(): Promise<RecorderPurgeResult | null> {
    const before = this.now().getTime() - this.config.retention_days * DAY_MS;
    const cameras = this.config.cameras.length > 0 ? new Set(this.config.cameras) : null;
    return this.enqueuePurge(() => this.runPurge(before, cameras, [])).then((r) => {
      if (!(r instanceof Error))
        this.log.info(
          { deleted: r.deleted, held: r.held, errors: r.errors, skipped: r.skipped.length },
          'scheduled purge done',
        );
      return r instanceof Error ? null : r;
    });
  }

  // ---------------------------------------------------------------- requests

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const correlation = packet.properties?.correlationData;
    try {
      if (topic !== this.topics.purgeRequest && topic !== this.topics.exportRequest) return;
      // Nothing reaches the request parsers unless it is signed, fresh and new.
      const verified = this.guard?.verifyRequest(topic, payload, { dup: packet.dup, retain: packet.retain });
      if (!verified?.ok) {
        const why = verified ? { reason: verified.reason, why: verified.why } : { why: 'not started' };
        this.log.warn({ topic, bytes: payload.length, ...why }, 'request dropped');
        this.statusSoon();
        return;
      }
      if (topic === this.topics.purgeRequest) this.onPurgeRequest(verified.body, correlation);
      else this.onExportRequest(verified.body, correlation);
    } catch (error) {
      // E.g. the state file cannot be written: log it and stay up; the controller will ask again.
      this.log.error({ topic, err: (error as Error).message }, 'handling a request failed');
    }
  }

  private onPurgeRequest(payload: Buffer, correlation: Buffer | undefined): void {
    const parsed = parsePurgeRequest(payload);
    if (!parsed.ok) {
      this.log.warn(
        { topic: this.topics.purgeRequest, bytes: payload.length, why: parsed.why },
        'purge request rejected',
      );
      return;
    }
    const req: PurgeRequest = parsed.value;
    const known = this.answerFor(req.id);
    if (known) {
      this.publishAnswer('purge', known, correlation);
      return;
    }
    if (this.inflight.has(req.id)) return;
    const refuse = (error: string) => {
      this.finish('purge', { id: req.id, ok: false, deleted: 0, oldest: null, error }, correlation);
      this.log.warn({ id: req.id, error }, 'purge request refused');
    };
    const now = this.now().getTime();
    // A request from the future would outrank every later hold list (newest ts wins) and outlive its lifetime.
    if (Date.parse(req.ts) > now + CLOCK_SKEW_MS) {
      refuse(`refused: request time ${req.ts} is in the future`);
      return;
    }
    const maxWindow = this.config.max_window_hours * HOUR_MS;
    const wide = req.holds.find((h) => Date.parse(h.to) - Date.parse(h.from) > maxWindow);
    if (wide) {
      refuse(
        `refused: hold ${wide.from} – ${wide.to} is wider than max_window_hours (${this.config.max_window_hours} h)`,
      );
      return;
    }
    this.learnHolds(req);
    const before = Date.parse(req.before);
    const newest = now - this.config.min_keep_hours * HOUR_MS;
    if (before > newest) {
      refuse(`refused: before ${req.before} would delete footage newer than ${this.config.min_keep_hours} h`);
      return;
    }
    this.inflight.add(req.id);
    const cameras = req.cameras.length > 0 ? new Set(req.cameras) : null;
    void this.enqueuePurge(() => this.runPurge(before, cameras, req.holds)).then((r) => {
      this.inflight.delete(req.id);
      const answer: PurgeResponse = !(r instanceof Error)
        ? {
            id: req.id,
            ok: r.errors === 0,
            deleted: r.deleted,
            oldest: iso(r.oldest),
            ...(r.errors > 0 ? { error: `${r.errors} segments could not be deleted` } : {}),
          }
        : { id: req.id, ok: false, deleted: 0, oldest: null, error: r.message.slice(0, 500) };
      this.finish('purge', answer, correlation);
    });
  }

  private onExportRequest(payload: Buffer, correlation: Buffer | undefined): void {
    const parsed = parseExportRequest(payload);
    if (!parsed.ok) {
      this.log.warn(
        { topic: this.topics.exportRequest, bytes: payload.length, why: parsed.why },
        'export request rejected',
      );
      return;
    }
    const req: ExportRequest = parsed.value;
    const known = this.answerFor(req.id);
    if (known) {
      this.publishAnswer('export', known, correlation);
      return;
    }
    const accepted: ExportResponse = { id: req.id, ok: true, state: 'accepted' };
    if (this.inflight.has(req.id)) {
      this.publishAnswer('export', accepted, correlation);
      return;
    }
    // Accepted before (e.g. before a restart): its window was checked then and has been held since.
    const held = this.state.exportHolds.some((h) => h.id === req.id);
    const refusal = held ? null : this.windowRefusal(req);
    if (refusal) {
      this.log.warn({ id: req.id, error: refusal }, 'export request refused');
      this.finish('export', { id: req.id, ok: false, state: 'failed', error: refusal }, correlation);
      return;
    }
    // Hold first, so no purge can take the window while it is being copied.
    if (!this.state.exportHolds.some((h) => h.id === req.id)) {
      this.state.exportHolds.push({
        id: req.id,
        case: req.case,
        ts: req.ts,
        hold: { from: req.from, to: req.to, cameras: req.cameras },
      });
      this.saveState();
    }
    this.inflight.add(req.id);
    this.publishAnswer('export', accepted, correlation);
    const job: ExportJob = {
      requestId: req.id,
      caseDir: req.case,
      from: Date.parse(req.from),
      to: Date.parse(req.to),
      cameras: req.cameras.length > 0 ? new Set(req.cameras) : null,
    };
    const next = this.exportChain
      .then(() => this.runExport(job))
      .catch((error: Error): ExportResponse => {
        if (error instanceof ExportRefusal) {
          // Nothing was copied: the hold the request set goes too.
          this.state.exportHolds = this.state.exportHolds.filter((h) => h.id !== req.id);
          this.log.warn({ id: req.id, error: error.message }, 'export request refused');
        } else this.log.error({ id: req.id, err: error.message }, 'export failed');
        return { id: req.id, ok: false, state: 'failed', error: error.message.slice(0, 500) };
      });
    this.exportChain = next.then((answer) => {
      this.inflight.delete(req.id);
      this.log.info({ id: req.id, state: answer.state, files: answer.files }, 'export answered');
      this.finish('export', answer, correlation);
    });
  }

  /** The window rules that need no disk: inside retention, ended, not too wide, not from the future. */
  private windowRefusal(req: ExportRequest): string | null {
    const now = this.now().getTime();
    const from = Date.parse(req.from);
    const to = Date.parse(req.to);
    const { retention_days, max_window_hours } = this.config;
    if (Date.parse(req.ts) > now + CLOCK_SKEW_MS) return `refused: request time ${req.ts} is in the future`;
    if (to > now + CLOCK_SKEW_MS) return `refused: the window ends in the future (${req.to})`;
    const oldest = now - retention_days * DAY_MS;
    if (from < oldest - CLOCK_SKEW_MS) {
      return (
        `refused: the window starts ${req.from}, before the retention period ` +
        `(retention_days ${retention_days}: nothing older than ${new Date(oldest).toISOString()} is kept)`
      );
    }
    if (to - from > max_window_hours * HOUR_MS) {
      const hours = Math.round(((to - from) / HOUR_MS) * 10) / 10;
      return `refused: the window is ${hours} h wide, more than max_window_hours (${max_window_hours} h)`;
    }
    return null;
  }

  private async runExport(job: ExportJob): Promise<ExportResponse> {
    const exportsDir = this.config.exports_dir;
    const done = await finishedExport(exportsDir, job);
    if (done === 'other') {
      throw new ExportRefusal(`exports/${job.caseDir} already holds another export; left untouched`);
    }
    const result =
      done ??
      (await (async () => {
        const ours = this.state.createdCases.some((c) => c.case === job.caseDir && c.id === job.requestId);
        const { segments, skipped } = await this.recorder.segments(job.from, job.to, job.cameras);
        // Checks ownership and the budget before anything is written; throws ExportRefusal.
        const prepared = await preparedCase(exportsDir, job, segments, {
          ours,
          budgetBytes: this.config.exports_budget_mb * 1024 * 1024,
          claim: () => {
            this.state.createdCases.push({ case: job.caseDir, id: job.requestId });
            this.saveState();
          },
        });
        if (skipped.length > 0)
          this.log.warn({ id: job.requestId, skipped }, 'export window has skipped places');
        return exportSegments(this.recorder, prepared, job, segments, skipped, this.now);
      })());
    return {
      id: job.requestId,
      ok: true,
      state: 'done',
      location: result.location,
      sha256: result.sha256,
      files: result.files,
    };
  }

  // ---------------------------------------------------------------- purge

  private enqueuePurge(job: () => Promise<RecorderPurgeResult>): Promise<RecorderPurgeResult | Error> {
    const next = this.purgeChain.then(job).catch((error: Error) => {
      this.log.error({ err: error.message }, 'purge failed');
      return error;
    });
    this.purgeChain = next;
    return next;
  }

  private async runPurge(
    before: number,
    cameras: Set<string> | null,
    extraHolds: HoldWindow[],
  ): Promise<RecorderPurgeResult> {
    const holds = [...this.knownHolds(), ...extraHolds].map(toHold);
    const plan: PurgePlan = { before, cameras, holds };
    const result = await this.recorder.purge(plan);
    if (result.skipped.length > 0) this.log.warn({ skipped: result.skipped }, 'places skipped');
    // Something not read may hold footage of any age: never report "no footage" then.
    if (result.skipped.length > 0 && result.oldest === null) result.oldest = 0;
    this.publishStatus(await this.statusFrom(result, plan));
    return result;
  }

  /**
   * Holds still alive: each lapses `hold_max_days` after its request; an export being copied stays held, and so
   * does an export whose case the newest (alive) purge list names.
   */
  private knownHolds(): HoldWindow[] {
    const now = this.now().getTime();
    const alive = (ts: string) => Date.parse(ts) + this.config.hold_max_days * DAY_MS >= now;
    const renewed = this.purgeListCases();
    const expired = this.state.exportHolds.filter(
      (h) => !alive(h.ts) && !this.inflight.has(h.id) && !(h.case && renewed.has(h.case)),
    );
    if (expired.length > 0) {
      this.log.info({ ids: expired.map((h) => h.id) }, 'export holds lapsed (hold_max_days)');
      this.state.exportHolds = this.state.exportHolds.filter((h) => !expired.includes(h));
      this.saveState();
    }
    const fromPurge =
      this.state.purgeHolds && alive(this.state.purgeHolds.ts) ? this.state.purgeHolds.holds : [];
    return [...fromPurge, ...this.state.exportHolds.map((h) => h.hold)];
  }

  /** Cases the newest purge list names, while that list is alive (the controller's open cases). */
  private purgeListCases(): Set<string> {
    const current = this.state.purgeHolds;
    if (!current || Date.parse(current.ts) + this.config.hold_max_days * DAY_MS < this.now().getTime())
      return new Set();
    return new Set(current.holds.flatMap((h) => (h.case ? [h.case] : [])));
  }

  /** Open cases: those of the newest purge list and of the live export holds. */
  private openCases(): Set<string> {
    const open = this.purgeListCases();
    for (const h of this.state.exportHolds) if (h.case) open.add(h.case);
    return open;
  }

  /**
   * A newer purge request carries the controller's complete hold list. Export holds stay whatever it says:
   * a purge request (or a forged one) can never release them; only their lifetime does (which naming their case
   * extends, as the controller renews open cases beyond the agent's hold_max_days).
   */
  private learnHolds(req: PurgeRequest): void {
    const current = this.state.purgeHolds;
    if (current && Date.parse(current.ts) >= Date.parse(req.ts)) return;
    this.state.purgeHolds = { ts: req.ts, holds: req.holds };
    this.saveState();
  }

  private async statusFrom(result: RecorderPurgeResult, plan: PurgePlan): Promise<NvrStatus> {
    const seen = new Map(result.cameras.map((c) => [c.name, c]));
    for (const name of this.config.cameras)
      if (!seen.has(name)) seen.set(name, { name, oldest: null, files: 0 });
    const findings: ComplianceFinding[] = [];
    for (const s of result.skipped)
      findings.push({ kind: 'skipped', detail: `${s.path} was not read: ${s.why}`.slice(0, 500) });
    for (const c of result.cameras) {
      const inScope = !plan.cameras || plan.cameras.has(c.name);
      if (inScope && c.oldest !== null && c.oldest < plan.before) {
        findings.push({
          kind: 'recordings',
          camera: c.name,
          oldest: new Date(c.oldest).toISOString(),
          detail: `footage from ${new Date(c.oldest).toISOString()} is left outside holds after a purge before ${new Date(plan.before).toISOString()}`,
        });
      }
    }
    try {
      findings.push(...(await this.recorder.configFindings(this.config.retention_days)));
    } catch (error) {
      findings.push({
        kind: 'config_unreadable',
        detail: `the recorder's settings could not be read: ${(error as Error).message}`.slice(0, 500),
      });
    }
    const skipped = [...result.skipped];
    const openCases = this.openCases();
    try {
      const own = await checkOwnExports({
        exportsDir: this.config.exports_dir,
        created: this.state.createdCases.map((c) => c.case),
        openCases,
        retentionDays: this.config.retention_days,
        now: this.now().getTime(),
      });
      findings.push(...own.findings);
      skipped.push(...own.skipped);
    } catch (error) {
      skipped.push({ path: 'exports', why: `check failed: ${(error as Error).message}`.slice(0, 500) });
    }
    if (this.config.media_root) {
      try {
        const scan = await scanMedia({
          mediaRoot: this.config.media_root,
          retentionDays: this.config.retention_days,
          now: this.now().getTime(),
          openCaseExports: openCases,
        });
        findings.push(...scan.findings);
        skipped.push(...scan.skipped);
      } catch (error) {
        skipped.push({
          path: this.config.media_root,
          why: `scan failed: ${(error as Error).message}`.slice(0, 500),
        });
      }
    }
    return fitStatus({
      oldest: iso(result.oldest),
      cameras: [...seen.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((c) => ({ name: c.name, oldest: iso(c.oldest), files: c.files })),
      ts: this.now().toISOString(),
      recorder: this.recorder.describe(),
      findings: findings.slice(0, MAX_FINDINGS),
      skipped: skipped.slice(0, MAX_FINDINGS),
      rejected: this.guard?.rejected() ?? {},
    });
  }

  private publishStatus(status: NvrStatus): void {
    this.lastStatus = status;
    this.publishSealed(this.topics.status, status, { qos: 1, retain: true });
  }

  // ---------------------------------------------------------------- answers and state

  private answerFor(id: string): PurgeResponse | ExportResponse | undefined {
    return this.state.answers.find((a) => a.id === id)?.answer;
  }

  private finish(
    kind: 'purge' | 'export',
    answer: PurgeResponse | ExportResponse,
    correlation: Buffer | undefined,
  ): void {
    this.state.answers.push({ id: answer.id, kind, answer });
    if (this.state.answers.length > MAX_REMEMBERED_ANSWERS)
      this.state.answers.splice(0, this.state.answers.length - MAX_REMEMBERED_ANSWERS);
    this.saveState();
    this.publishAnswer(kind, answer, correlation);
  }

  private publishAnswer(
    kind: 'purge' | 'export',
    answer: PurgeResponse | ExportResponse,
    correlation: Buffer | undefined,
  ): void {
    // Always the contract topic: a request's response-topic property is not trusted as a destination.
    const topic = kind === 'purge' ? this.topics.purgeResponse : this.topics.exportResponse;
    const v5 = this.config.mqtt.protocol_version === 5;
    this.publishSealed(topic, answer, {
      qos: 1,
      retain: false,
      ...(v5 && correlation ? { properties: { correlationData: correlation } } : {}),
    });
  }

  /** The controller learns of drops from the status (the agent has no alarms): republish it, at most 1/s. */
  private statusSoon(): void {
    if (this.statusTimer || !this.lastStatus) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      if (!this.lastStatus) return;
      this.lastStatus = {
        ...this.lastStatus,
        ts: this.now().toISOString(),
        rejected: this.guard?.rejected() ?? {},
      };
      this.publishSealed(this.topics.status, this.lastStatus, { qos: 1, retain: true });
    }, 1000);
    this.statusTimer.unref();
  }

  /** Sealed at send time, so a repeated answer carries a fresh ts and nonce. */
  private publishSealed(topic: string, body: object, options: IClientPublishOptions): void {
    if (!this.client || !this.guard) return;
    this.client.publish(topic, this.guard.seal(topic, body), options);
  }

  private loadState(): void {
    try {
      const data = JSON.parse(readFileSync(this.config.state_file, 'utf8')) as AgentState;
      this.state = {
        purgeHolds: data.purgeHolds ?? null,
        exportHolds: Array.isArray(data.exportHolds) ? data.exportHolds : [],
        createdCases: Array.isArray(data.createdCases) ? data.createdCases : [],
        answers: Array.isArray(data.answers) ? data.answers : [],
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        // An unreadable state file could hide holds: refuse to start rather than purge held footage.
        throw new Error(`state file ${this.config.state_file} is unreadable: ${(error as Error).message}`);
      }
    }
  }

  private saveState(): void {
    const file = this.config.state_file;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(this.state));
    renameSync(`${file}.tmp`, file);
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Shortens the findings and skipped lists until the status fits well inside the payload limit (a signed envelope
 * adds to it): a status the controller drops would hide everything else in it.
 */
function fitStatus(status: NvrStatus): NvrStatus {
  const limit = MAX_NVR_PAYLOAD_BYTES / 2;
  const findings = status.findings ?? [];
  const skipped = status.skipped ?? [];
  const size = () => Buffer.byteLength(JSON.stringify({ ...status, findings, skipped }));
  const [allFindings, allSkipped] = [findings.length, skipped.length];
  while (size() > limit && (findings.length > 1 || skipped.length > 1)) {
    if (findings.length >= skipped.length) findings.splice(Math.ceil(findings.length / 2));
    else skipped.splice(Math.ceil(skipped.length / 2));
  }
  if (findings.length < allFindings)
    findings.push({ kind: 'skipped', detail: `${allFindings - findings.length} more findings not shown` });
  if (skipped.length < allSkipped)
    skipped.push({ path: '…', why: `${allSkipped - skipped.length} more places skipped` });
  return { ...status, findings, skipped };
}

function toHold(h: HoldWindow): Hold {
  return {
    from: Date.parse(h.from),
    to: Date.parse(h.to),
    cameras: h.cameras.length > 0 ? new Set(h.cameras) : null,
  };
}
