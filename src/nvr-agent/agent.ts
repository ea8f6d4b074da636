/**
 * The recorder-side agent: applies purge and export requests from MQTT to the recordings tree, answers each
 * (a repeated id gets the same answer), publishes a retained status, and purges on its own schedule so
 * retention holds while the controller is away. Holds are remembered across restarts in the state file.
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
import cron, { type ScheduledTask } from 'node-cron';
import {
  type ExportRequest,
  type ExportResponse,
  type HoldWindow,
  type NvrStatus,
  nvrTopics,
  type PurgeRequest,
  type PurgeResponse,
} from '../contract/nvr.ts';
import type { Logger } from '../log/logger.ts';
import { AgentGuard, readAgentKeys, tlsOptions } from './auth.ts';
import type { AgentConfig } from './config.ts';
import { exportWindow, finishedExport } from './export.ts';
import { type Hold, type PurgeResult, purgeRecordings } from './purge.ts';
import { parseExportRequest, parsePurgeRequest } from './requests.ts';

const DAY_MS = 86_400_000;
const MAX_REMEMBERED_ANSWERS = 500;

interface AgentState {
  /** Holds from the newest purge request (by its ts): the controller's full list at that time. */
  purgeHolds: { ts: string; holds: HoldWindow[] } | null;
  /** Export windows requested since; dropped once a newer purge request carries the full list. */
  exportHolds: { id: string; ts: string; hold: HoldWindow }[];
  answers: { id: string; kind: 'purge' | 'export'; answer: PurgeResponse | ExportResponse }[];
}

export interface AgentDeps {
  config: AgentConfig;
  log: Logger;
  now?: () => Date;
  /** Extra client options (tests shorten reconnectPeriod). */
  mqttOptions?: IClientOptions;
}

export class NvrAgent {
  private readonly config: AgentConfig;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly topics: ReturnType<typeof nvrTopics>;
  private readonly mqttOptions: IClientOptions;
  private client: MqttClient | null = null;
  private cronTask: ScheduledTask | null = null;
  private state: AgentState = { purgeHolds: null, exportHolds: [], answers: [] };
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
  }

  async start(): Promise<void> {
    this.loadState();
    const keys = readAgentKeys(this.config.auth);
    this.guard = new AgentGuard(keys, this.config.auth.max_skew_seconds, this.now);
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
      ...tlsOptions(mqtt.tls),
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
    this.cronTask = cron.schedule(this.config.purge_cron, () => void this.ownPurge(), {
      name: 'nvr-agent-purge',
    });
    // Enforce retention right away after downtime.
    void this.ownPurge();
  }

  async stop(): Promise<void> {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
    if (this.cronTask) await this.cronTask.destroy();
    this.cronTask = null;
    await this.idle();
    if (this.client) await this.client.endAsync();
    this.client = null;
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
  ownPurge(): Promise<PurgeResult | null> {
    const before = this.now().getTime() - this.config.retention_days * DAY_MS;
    const cameras = this.config.cameras.length > 0 ? new Set(this.config.cameras) : null;
    return this.enqueuePurge(() => this.runPurge(before, cameras, [])).then((r) => {
      if (!(r instanceof Error)) this.log.info({ deleted: r.deleted, held: r.held }, 'scheduled purge done');
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
    this.learnHolds(req);
    this.inflight.add(req.id);
    const before = Date.parse(req.before);
    const newest = this.now().getTime() - this.config.min_keep_hours * 3_600_000;
    if (before > newest) {
      this.inflight.delete(req.id);
      this.finish(
        'purge',
        {
          id: req.id,
          ok: false,
          deleted: 0,
          oldest: null,
          error: `refused: before ${req.before} would delete footage newer than ${this.config.min_keep_hours} h`,
        },
        correlation,
      );
      this.log.warn({ id: req.id, before: req.before }, 'purge request refused: cutoff too recent');
      return;
    }
    const cameras = req.cameras.length > 0 ? new Set(req.cameras) : null;
    void this.enqueuePurge(() => this.runPurge(before, cameras, req.holds)).then((r) => {
      this.inflight.delete(req.id);
      const answer: PurgeResponse = !(r instanceof Error)
        ? {
            id: req.id,
            ok: r.errors === 0,
            deleted: r.deleted,
            oldest: iso(r.oldest),
            ...(r.errors > 0 ? { error: `${r.errors} files could not be deleted` } : {}),
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
    // Hold first, so no purge can take the window while it is being copied.
    if (!this.state.exportHolds.some((h) => h.id === req.id)) {
      this.state.exportHolds.push({
        id: req.id,
        ts: req.ts,
        hold: { from: req.from, to: req.to, cameras: req.cameras },
      });
      this.saveState();
    }
    this.inflight.add(req.id);
    this.publishAnswer('export', accepted, correlation);
    const job = {
      requestId: req.id,
      caseDir: req.case,
      from: Date.parse(req.from),
      to: Date.parse(req.to),
      cameras: req.cameras.length > 0 ? new Set(req.cameras) : null,
    };
    const run = async (): Promise<ExportResponse> => {
      const { root, layout, segment_seconds } = this.config.recordings;
      const done = await finishedExport(this.config.exports_dir, job);
      if (done === 'other') {
        return {
          id: req.id,
          ok: false,
          state: 'failed',
          error: `exports/${req.case} already holds another export`,
        };
      }
      const result =
        done ??
        (await exportWindow(
          {
            root,
            layout,
            segmentMs: segment_seconds * 1000,
            exportsDir: this.config.exports_dir,
            now: this.now,
          },
          job,
        ));
      return {
        id: req.id,
        ok: true,
        state: 'done',
        location: result.location,
        sha256: result.sha256,
        files: result.files,
      };
    };
    const next = this.exportChain.then(run).catch((error: Error): ExportResponse => {
      this.log.error({ id: req.id, err: error.message }, 'export failed');
      return { id: req.id, ok: false, state: 'failed', error: error.message.slice(0, 500) };
    });
    this.exportChain = next.then((answer) => {
      this.inflight.delete(req.id);
      this.log.info({ id: req.id, state: answer.state, files: answer.files }, 'export answered');
      this.finish('export', answer, correlation);
    });
  }

  // ---------------------------------------------------------------- purge

  private enqueuePurge(job: () => Promise<PurgeResult>): Promise<PurgeResult | Error> {
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
  ): Promise<PurgeResult> {
    const { root, layout, segment_seconds } = this.config.recordings;
    const holds = [...this.knownHolds(), ...extraHolds].map(toHold);
    const result = await purgeRecordings(
      { root, layout, segmentMs: segment_seconds * 1000, before, cameras, holds },
      (path, err) => this.log.error({ path, err: err.message }, 'could not delete'),
    );
    if (result.links > 0 || result.ignored > 0) {
      this.log.debug(
        { links: result.links, ignored: result.ignored },
        'entries outside the layout left alone',
      );
    }
    this.publishStatus(result);
    return result;
  }

  private knownHolds(): HoldWindow[] {
    return [...(this.state.purgeHolds?.holds ?? []), ...this.state.exportHolds.map((h) => h.hold)];
  }

  /** A newer purge request carries the controller's complete hold list; export holds it postdates are in it. */
  private learnHolds(req: PurgeRequest): void {
    const current = this.state.purgeHolds;
    if (current && Date.parse(current.ts) >= Date.parse(req.ts)) return;
    this.state.purgeHolds = { ts: req.ts, holds: req.holds };
    this.state.exportHolds = this.state.exportHolds.filter(
      (h) => Date.parse(h.ts) >= Date.parse(req.ts) || this.inflight.has(h.id),
    );
    this.saveState();
  }

  private publishStatus(result: PurgeResult): void {
    const seen = new Map(result.cameras.map((c) => [c.name, c]));
    for (const name of this.config.cameras)
      if (!seen.has(name)) seen.set(name, { name, oldest: null, files: 0 });
    const status: NvrStatus = {
      oldest: iso(result.oldest),
      cameras: [...seen.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((c) => ({ name: c.name, oldest: iso(c.oldest), files: c.files })),
      ts: this.now().toISOString(),
      rejected: this.guard?.rejected() ?? {},
    };
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

function toHold(h: HoldWindow): Hold {
  return {
    from: Date.parse(h.from),
    to: Date.parse(h.to),
    cameras: h.cameras.length > 0 ? new Set(h.cameras) : null,
  };
}
