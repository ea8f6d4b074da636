/**
 * The `frigate` recorder: drives Frigate through its HTTP API (never its files), so Frigate's database and its
 * disk never disagree. What each Frigate version allows is in docs/recorders/frigate.md:
 * - 0.18+: purges with `DELETE /api/recordings/start/{s}/end/{e}?cameras=…`, then lists again to verify;
 * - 0.14–0.17: no delete route; Frigate's own retention deletes, the agent lists and reports;
 * - older or unknown: refuses to start.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import {
  CAMERA_NAME_PATTERN,
  type ComplianceFinding,
  type RecorderDescription,
  type SkippedPlace,
} from '../../contract/nvr.ts';
import type { Logger } from '../../log/logger.ts';
import { checkFrigateConfig } from '../compliance/frigate-config.ts';
import {
  type CameraStats,
  type Hold,
  overlapsHold,
  type PurgePlan,
  type RecordedSegment,
  type Recorder,
  type RecorderPurgeResult,
} from '../recorder.ts';

export interface FrigateRecorderOptions {
  kind: 'frigate';
  /** Frigate's base URL: the internal port (`http://frigate:5000`, no login) or the authenticated port (`https://frigate:8971`). */
  url: string;
  /** With a password: log in on the authenticated port (the user needs the admin role to delete). */
  username?: string | undefined;
  password_file?: string | undefined;
  /** Name of the environment variable that holds the password. */
  password_env?: string | undefined;
  verify_tls: boolean;
  ca_file?: string | undefined;
  /** Cameras to cover; empty: every camera in Frigate's `/api/config`. */
  cameras: string[];
  timeout_ms: number;
  /** Further tries after a network error, a timeout or a 502/503/504. */
  retries: number;
}

export const frigateRecorderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'url'],
  properties: {
    kind: { const: 'frigate' },
    url: { type: 'string', pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$' },
    username: { type: 'string', minLength: 1, maxLength: 64 },
    password_file: { type: 'string', minLength: 1 },
    password_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    verify_tls: { type: 'boolean', default: true },
    ca_file: { type: 'string', minLength: 1 },
    cameras: {
      type: 'array',
      items: { type: 'string', pattern: CAMERA_NAME_PATTERN },
      uniqueItems: true,
      default: [],
    },
    timeout_ms: { type: 'integer', minimum: 1000, maximum: 600_000, default: 30_000 },
    retries: { type: 'integer', minimum: 0, maximum: 10, default: 2 },
  },
  // A user needs exactly one password source, and a password source needs a user.
  dependentRequired: { password_file: ['username'], password_env: ['username'] },
  allOf: [
    { not: { required: ['password_file', 'password_env'] } },
    {
      if: { required: ['username'] },
      then: { anyOf: [{ required: ['password_file'] }, { required: ['password_env'] }] },
    },
  ],
} as const;

export interface FrigateDeps {
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

/** Frigate's `/api/version`: `0.16.2-4d58206`, `0.17.0-beta2-…`. */
export interface FrigateVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
}

export function parseFrigateVersion(text: string): FrigateVersion | null {
  let raw = text.trim();
  // Flask-era Frigate answers plain text; a JSON string is accepted too.
  if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) raw = raw.slice(1, -1);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:-[0-9A-Za-z.-]{1,64})?$/.exec(raw);
  if (!m) return null;
  return { raw, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export type FrigateMode = 'purge' | 'report';

/** 0.18+ deletes through the API; 0.14–0.17 only reports; anything else is refused (null). */
export function frigateMode(v: FrigateVersion): FrigateMode | null {
  if (v.major > 0 || v.minor >= 18) return 'purge';
  if (v.minor >= 14) return 'report';
  return null;
}

/** One row of `GET /api/{camera}/recordings` (seconds as floats, as Frigate stores them). */
interface ApiRecording {
  id: string;
  start_time: number;
  end_time: number;
}

export interface Listed {
  camera: string;
  id: string;
  /** Seconds, exactly as Frigate returned them: range bounds are computed from these. */
  startS: number;
  endS: number;
}

const DAY_S = 86_400;
/**
 * Frigate unlinks each file of a range inside one request; bounding a range's segments bounds that request's
 * time (neighbouring chunks may overlap: both lie in the same gap, so they catch only deletable segments).
 */
export const MAX_SEGMENTS_PER_DELETE = 2000;
/**
 * Listing reaches this far past the cutoff, so the segment after the last deletable one (longer than Frigate's
 * 600 s maximum never) is known and the range can stop short of it.
 */
const AFTER_CUTOFF_S = 3_600;

export class FrigateHttpError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD/HH/<camera>/MM.SS.mp4` in UTC, as Frigate's recording maintainer names a segment from its start. */
export function frigateRelPath(camera: string, startS: number): string {
  const d = new Date(Math.floor(startS) * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/${camera}/${pad(d.getUTCMinutes())}.${pad(d.getUTCSeconds())}.mp4`;
}

const toSegment = (s: Listed): RecordedSegment => ({
  camera: s.camera,
  start: Math.floor(s.startS * 1000),
  end: Math.max(Math.ceil(s.endS * 1000), Math.floor(s.startS * 1000) + 1),
  rel: frigateRelPath(s.camera, s.startS),
});

/** The exact extent (ms, unrounded) used for every hold decision. */
const heldBy = (s: Listed, holds: Hold[]) =>
  overlapsHold({ camera: s.camera, start: s.startS * 1000, end: s.endS * 1000 }, holds);

/** A `DELETE` range [start, end] (seconds) and the deletable segments it must catch. */
export interface DeleteRange {
  start: number;
  end: number;
  ids: string[];
}

/**
 * Plans the `DELETE` calls for one camera. Frigate deletes every row with `start_time` or `end_time` in
 * [start, end], or spanning it: a closed-interval overlap. So each range must lie strictly inside a gap between
 * the segments that stay (held, or newer than the cutoff, or beyond what was listed, `limitS`), and still reach
 * every deletable segment in that gap. Segments that lie wholly inside a kept one cannot be reached: `stuck`.
 */
export function planDeletes(
  all: Listed[],
  deletable: Set<string>,
  limitS: number,
): { ranges: DeleteRange[]; stuck: string[] } {
  const kept = all.filter((s) => !deletable.has(s.id)).map((s) => [s.startS, s.endS] as [number, number]);
  kept.push([limitS, Number.POSITIVE_INFINITY]);
  kept.sort((a, b) => a[0] - b[0]);
  // Merged kept intervals; the open gaps between them are where ranges may go.
  const merged: [number, number][] = [];
  for (const k of kept) {
    const last = merged[merged.length - 1];
    if (last && k[0] <= last[1]) last[1] = Math.max(last[1], k[1]);
    else merged.push([k[0], k[1]]);
  }
  const gaps: [number, number][] = [];
  let left = Number.NEGATIVE_INFINITY;
  for (const [a, b] of merged) {
    if (a > left) gaps.push([left, a]);
    left = Math.max(left, b);
  }
  const ranges: DeleteRange[] = [];
  const stuck: string[] = [];
  const targets = all.filter((s) => deletable.has(s.id)).sort((a, b) => a.startS - b.startS);
  let g = 0;
  let current: { gap: [number, number]; segs: Listed[] } | null = null;
  const flush = () => {
    if (!current) return;
    const [L, R] = current.gap;
    for (let i = 0; i < current.segs.length; i += MAX_SEGMENTS_PER_DELETE) {
      const chunk = current.segs.slice(i, i + MAX_SEGMENTS_PER_DELETE);
      let minStart = Number.POSITIVE_INFINITY;
      let maxEnd = Number.NEGATIVE_INFINITY;
      let reachL = Number.POSITIVE_INFINITY;
      let reachR = Number.POSITIVE_INFINITY;
      for (const s of chunk) {
        minStart = Math.min(minStart, s.startS);
        maxEnd = Math.max(maxEnd, s.endS);
        reachL = Math.min(reachL, Math.min(s.endS, R) - L);
        reachR = Math.min(reachR, R - Math.max(s.startS, L));
      }
      // Nudge off a kept boundary by less than any target's reach into the gap, so every target is still caught.
      const start = minStart > L ? minStart : L + Math.min(0.001, reachL / 2);
      const end = maxEnd < R ? maxEnd : R - Math.min(0.001, reachR / 2);
      if (start > L && end < R && start < end) ranges.push({ start, end, ids: chunk.map((s) => s.id) });
      else for (const s of chunk) stuck.push(s.id);
    }
  };
  for (const s of targets) {
    // Targets come in start order, so the first gap ending after this start only moves forward.
    while (g < gaps.length && gaps[g]![1] <= s.startS) g++;
    const gap = gaps[g];
    if (!gap || gap[0] >= s.endS) {
      stuck.push(s.id);
      continue;
    }
    if (!current || current.gap !== gap) {
      flush();
      current = { gap, segs: [] };
    }
    current.segs.push(s);
  }
  flush();
  return { ranges, stuck };
}

export class FrigateRecorder implements Recorder {
  private readonly log: Logger;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly now: () => number;
  private readonly env: NodeJS.ProcessEnv;
  private token: string | null = null;
  private version: FrigateVersion | null = null;
  private mode: FrigateMode | null = null;
  private description: RecorderDescription = {
    kind: 'frigate',
    version: null,
    purges: false,
    note: 'Frigate: not probed yet',
  };
  /** Requests sent since the last `takeCalls()` (logins and retries included). */
  private calls = 0;

  constructor(
    private readonly opts: FrigateRecorderOptions,
    log: Logger,
    deps: FrigateDeps = {},
  ) {
    this.log = log.child({ mod: 'recorder-frigate' });
    this.base = new URL(opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    if (this.base.username || this.base.password)
      throw new Error('frigate recorder: put no credentials in url');
    this.now = deps.now ?? Date.now;
    this.env = deps.env ?? process.env;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 4,
            rejectUnauthorized: opts.verify_tls,
            ...(opts.ca_file ? { ca: readFileSync(opts.ca_file) } : {}),
          })
        : new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  async start(): Promise<RecorderDescription> {
    const text = (await this.call('GET', 'api/version', { as: 'text' })) as string;
    const v = parseFrigateVersion(text);
    if (!v)
      throw new Error(
        `Frigate at ${this.base.origin}: unreadable version ${JSON.stringify(text.slice(0, 80))}`,
      );
    const mode = frigateMode(v);
    if (!mode) {
      throw new Error(
        `Frigate ${v.raw} at ${this.base.origin} is older than 0.14: not supported (upgrade Frigate, or use the files recorder)`,
      );
    }
    this.version = v;
    this.mode = mode;
    const short = `${v.major}.${v.minor}`;
    this.description = {
      kind: 'frigate',
      version: v.raw,
      purges: mode === 'purge',
      note:
        mode === 'purge'
          ? `Frigate ${short}: the agent deletes through Frigate's API and verifies; holds survive only as copies`
          : `Frigate ${short}: Frigate's own retention deletes (this version has no delete route); the agent only lists and reports, and cannot keep held footage in Frigate`,
    };
    this.log.info({ version: v.raw, mode }, 'frigate recorder started');
    return this.description;
  }

  describe(): RecorderDescription {
    return this.description;
  }

  /** Requests made since the last call (for a purge's `calls`, and the bench). */
  takeCalls(): number {
    const n = this.calls;
    this.calls = 0;
    return n;
  }

  async purge(plan: PurgePlan): Promise<RecorderPurgeResult> {
    await this.ensureStarted();
    this.takeCalls();
    const skipped: SkippedPlace[] = [];
    const cameras = await this.cameraList(plan.cameras, skipped);
    const beforeS = plan.before / 1000;
    const limitS = beforeS + AFTER_CUTOFF_S;
    const stats: CameraStats[] = [];
    let deleted = 0;
    let held = 0;
    let errors = 0;
    let listedCameras = 0;
    for (const camera of cameras) {
      let segs: Listed[];
      let days: number[];
      try {
        days = await this.footageDays(camera);
        segs = await this.listDays(camera, days, Number.POSITIVE_INFINITY);
      } catch (error) {
        skipped.push({ path: `/api/${camera}/recordings`, why: (error as Error).message });
        continue;
      }
      listedCameras++;
      const deletable = new Set<string>();
      for (const s of segs) {
        if (heldBy(s, plan.holds)) held++;
        else if (s.startS * 1000 < plan.before) deletable.add(s.id);
      }
      if (this.mode === 'purge' && deletable.size > 0) {
        const { ranges, stuck } = planDeletes(segs, deletable, limitS);
        if (stuck.length > 0)
          this.log.warn({ camera, count: stuck.length }, 'segments inside kept ones cannot be deleted');
        for (const r of ranges) {
          try {
            await this.call('DELETE', `api/recordings/start/${r.start}/end/${r.end}`, {
              query: { cameras: camera },
              as: 'json',
            });
          } catch (error) {
            // The listing below counts what stayed; one failed range must not stop the others.
            this.log.warn({ camera, err: (error as Error).message }, 'frigate delete failed');
          }
        }
        // Verify: list again; what should have gone and is still there is an error, what went and was kept is loud.
        let after: Listed[];
        try {
          // Only the days the ranges could touch are listed again; later footage is as first listed.
          const near = await this.listDays(camera, days, limitS);
          after = [...near, ...segs.filter((x) => x.startS > limitS)];
        } catch (error) {
          skipped.push({
            path: `/api/${camera}/recordings`,
            why: `verification: ${(error as Error).message}`,
          });
          errors += deletable.size;
          stats.push({ name: camera, oldest: null, files: segs.length });
          continue;
        }
        const present = new Set(after.map((s) => s.id));
        let stillThere = 0;
        for (const id of deletable) if (present.has(id)) stillThere++;
        const keptGone = segs.filter((s) => !deletable.has(s.id) && !present.has(s.id)).length;
        if (keptGone > 0)
          this.log.error({ camera, count: keptGone }, 'kept segments disappeared during the purge');
        deleted += deletable.size - stillThere;
        errors += stillThere;
        segs = after;
      }
      stats.push(this.cameraStats(camera, segs, plan.holds));
    }
    if (cameras.length > 0 && listedCameras === 0) {
      throw new Error(`Frigate: no camera could be listed (${skipped[0]?.why ?? 'unknown'})`);
    }
    const oldest = stats.reduce<number | null>(
      (acc, c) => (c.oldest !== null && (acc === null || c.oldest < acc) ? c.oldest : acc),
      null,
    );
    return { deleted, held, oldest, cameras: stats, skipped, errors, calls: this.takeCalls() };
  }

  async segments(
    from: number,
    to: number,
    cameras: Set<string> | null,
  ): Promise<{ segments: RecordedSegment[]; skipped: SkippedPlace[] }> {
    await this.ensureStarted();
    const out: RecordedSegment[] = [];
    const skipped: SkippedPlace[] = [];
    for (const camera of await this.cameraList(cameras, skipped)) {
      try {
        const segs = await this.listWindow(camera, from / 1000, to / 1000);
        for (const s of segs) if (s.startS * 1000 <= to && s.endS * 1000 >= from) out.push(toSegment(s));
      } catch (error) {
        skipped.push({ path: `/api/${camera}/recordings`, why: (error as Error).message });
      }
    }
    return { segments: out, skipped };
  }

  async copySegment(segment: RecordedSegment, target: string): Promise<void> {
    await this.ensureStarted();
    // Only paths of the layout Frigate writes are fetched: the camera and time come from Frigate's own listing.
    if (!/^\d{4}-\d{2}-\d{2}\/\d{2}\/[A-Za-z0-9_-]{1,64}\/\d{2}\.\d{2}\.mp4$/.test(segment.rel)) {
      throw new Error(`not a Frigate segment path: ${segment.rel}`);
    }
    const route = `recordings/${segment.rel.split('/').map(encodeURIComponent).join('/')}`;
    const res = (await this.call('GET', route, { as: 'stream' })) as IncomingMessage;
    const expected = Number(res.headers['content-length'] ?? Number.NaN);
    let written = 0;
    res.on('data', (chunk: Buffer) => {
      written += chunk.length;
    });
    // `wx`: a copy never overwrites; the agent hashes the file afterwards.
    await pipeline(res, createWriteStream(target, { flags: 'wx' }));
    if (Number.isFinite(expected) && written !== expected) {
      throw new Error(`GET /${route}: short download (${written} of ${expected} bytes)`);
    }
  }

  async configFindings(retentionDays: number): Promise<ComplianceFinding[]> {
    await this.ensureStarted();
    let config: unknown;
    try {
      config = await this.call('GET', 'api/config', { as: 'json' });
    } catch (error) {
      return [
        {
          kind: 'config_unreadable',
          detail: `Frigate's config could not be read: ${(error as Error).message}`,
        },
      ];
    }
    const findings = checkFrigateConfig(config, this.version!.raw, retentionDays);
    const c = config as { safe_mode?: unknown; cameras?: unknown };
    if (c && typeof c === 'object' && c.safe_mode === true) {
      findings.push({
        kind: 'recorder_safe_mode',
        detail: `Frigate ${this.version!.raw} runs in safe mode (its config failed validation): no cameras, and its recording cleanup does not run`,
      });
    }
    return findings;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
  }

  // ---- listing

  /**
   * The cameras to cover. Cameras asked for but unknown, and a Frigate listing no camera at all (safe mode), are
   * reported as skipped: never read as "no footage".
   */
  private async cameraList(wanted: Set<string> | null, skipped: SkippedPlace[]): Promise<string[]> {
    let names: string[];
    if (this.opts.cameras.length > 0) names = [...this.opts.cameras];
    else {
      const config = (await this.call('GET', 'api/config', { as: 'json' })) as {
        cameras?: Record<string, unknown>;
      };
      names = Object.keys(config?.cameras ?? {});
      if (names.length === 0) {
        skipped.push({
          path: '/api/config',
          why: 'Frigate lists no cameras (safe mode, or an empty config)',
        });
      }
    }
    const pattern = new RegExp(CAMERA_NAME_PATTERN);
    for (const n of names)
      if (!pattern.test(n)) skipped.push({ path: `/api/${n}/recordings`, why: 'camera name not accepted' });
    names = names.filter((n) => pattern.test(n));
    if (!wanted) return names;
    for (const n of wanted) {
      if (!names.includes(n))
        skipped.push({ path: `/api/${n}/recordings`, why: 'not a camera of this Frigate' });
    }
    return names.filter((n) => wanted.has(n));
  }

  /** UTC days (unix s of midnight) on which the camera has footage, from Frigate's recordings summary. */
  private async footageDays(camera: string): Promise<number[]> {
    const summary = (await this.call('GET', `api/${encodeURIComponent(camera)}/recordings/summary`, {
      query: { timezone: 'utc' },
      as: 'json',
    })) as { day?: unknown }[];
    const days = new Set<number>();
    for (const d of Array.isArray(summary) ? summary : []) {
      if (typeof d?.day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(d.day)) continue;
      const t = Date.parse(`${d.day}T00:00:00Z`) / 1000;
      if (Number.isFinite(t)) days.add(t);
    }
    return [...days].sort((a, b) => a - b);
  }

  /** The camera's segments starting on `days`, and no later than `limitS`, one request per day. */
  private async listDays(camera: string, days: number[], limitS: number): Promise<Listed[]> {
    // The summary groups by start day; a segment crossing midnight is found from its start day's chunk.
    const byId = new Map<string, Listed>();
    for (const day of days) {
      if (day > limitS) continue;
      for (const s of await this.listChunk(camera, day, Math.min(day + DAY_S, limitS))) byId.set(s.id, s);
    }
    return [...byId.values()].filter((s) => s.startS <= limitS).sort((a, b) => a.startS - b.startS);
  }

  /** Segments overlapping [fromS, toS], one request per UTC day. */
  private async listWindow(camera: string, fromS: number, toS: number): Promise<Listed[]> {
    const byId = new Map<string, Listed>();
    for (let day = Math.floor(fromS / DAY_S) * DAY_S; day <= toS; day += DAY_S) {
      const a = Math.max(day, fromS);
      const b = Math.min(day + DAY_S, toS);
      for (const s of await this.listChunk(camera, a, b)) byId.set(s.id, s);
    }
    return [...byId.values()].sort((a, b) => a.startS - b.startS);
  }

  private async listChunk(camera: string, afterS: number, beforeS: number): Promise<Listed[]> {
    const route = `api/${encodeURIComponent(camera)}/recordings`;
    // Both bounds always: without them Frigate answers the last hour.
    const rows = await this.call('GET', route, {
      query: { after: String(afterS), before: String(beforeS) },
      as: 'json',
    });
    if (!Array.isArray(rows)) throw new FrigateHttpError(`GET /${route}: not a list`, null);
    const out: Listed[] = [];
    for (const r of rows as ApiRecording[]) {
      if (
        typeof r?.id !== 'string' ||
        !Number.isFinite(r.start_time) ||
        !Number.isFinite(r.end_time) ||
        r.end_time < r.start_time
      ) {
        throw new FrigateHttpError(`GET /${route}: malformed row ${JSON.stringify(r).slice(0, 120)}`, null);
      }
      out.push({ camera, id: r.id, startS: r.start_time, endS: r.end_time });
    }
    return out;
  }

  private cameraStats(camera: string, segs: Listed[], holds: Hold[]): CameraStats {
    let oldest: number | null = null;
    for (const s of segs) {
      if (heldBy(s, holds)) continue;
      const t = Math.floor(s.startS * 1000);
      if (oldest === null || t < oldest) oldest = t;
    }
    return { name: camera, oldest, files: segs.length };
  }

  /** Frigate down when the agent started: ask its version again before the next use, not never. */
  private async ensureStarted(): Promise<void> {
    if (!this.mode) await this.start();
  }

  // ---- HTTP

  private password(): string {
    if (this.opts.password_file) {
      try {
        return readFileSync(this.opts.password_file, 'utf8').trim();
      } catch (error) {
        throw new Error(
          `frigate password_file unreadable: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    }
    const name = this.opts.password_env!;
    const value = this.env[name];
    if (!value) throw new Error(`frigate password: environment variable ${name} is not set`);
    return value;
  }

  /** `POST /api/login` → the JWT Frigate sets as a cookie; it is then sent as a bearer token. */
  private async login(): Promise<void> {
    const body = JSON.stringify({ user: this.opts.username, password: this.password() });
    const res = await this.send('POST', 'api/login', undefined, body, false);
    const text = await readBody(res);
    if (res.statusCode === 401 || res.statusCode === 400) {
      throw new FrigateHttpError(
        `Frigate login as ${this.opts.username} failed (POST /api/login: ${res.statusCode}): check the username and password`,
        res.statusCode,
      );
    }
    if (res.statusCode === 429)
      throw new FrigateHttpError('POST /api/login: 429 (Frigate rate-limits logins)', 429);
    if (res.statusCode !== 200) {
      throw new FrigateHttpError(
        `POST /api/login: ${res.statusCode} ${text.slice(0, 120)}`,
        res.statusCode ?? null,
      );
    }
    const cookies = res.headers['set-cookie'] ?? [];
    let token: string | null = null;
    for (const c of cookies) {
      const m = /^([^=;\s]+)=([^;]*)/.exec(c);
      if (!m) continue;
      // Frigate's default cookie name; `auth.cookie_name` may rename it, so any JWT-shaped cookie is taken.
      if (m[1] === 'frigate_token' || (!token && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(m[2]!))) token = m[2]!;
    }
    if (!token) throw new FrigateHttpError('POST /api/login: 200 without a token cookie', 200);
    this.token = token;
    this.log.info({ user: this.opts.username }, 'logged in to frigate');
  }

  private async call(
    method: 'GET' | 'DELETE',
    route: string,
    o: { query?: Record<string, string>; as: 'json' | 'text' | 'stream' },
  ): Promise<unknown> {
    const label = `${method} /${route}`;
    let relogged = false;
    for (let attempt = 0; ; attempt++) {
      if (this.opts.username && !this.token) await this.login();
      let res: IncomingMessage;
      try {
        res = await this.send(method, route, o.query, undefined, true);
      } catch (error) {
        if (attempt < this.opts.retries) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        throw new FrigateHttpError(`${label}: ${(error as Error).message}`, null);
      }
      const status = res.statusCode ?? 0;
      if (status === 401 && this.opts.username && !relogged) {
        // The token expired (Frigate's session_length) or Frigate restarted with a new secret: log in once more.
        res.resume();
        this.token = null;
        relogged = true;
        attempt--;
        continue;
      }
      if ((status === 502 || status === 503 || status === 504) && attempt < this.opts.retries) {
        res.resume();
        await sleep(200 * 2 ** attempt);
        continue;
      }
      if (status < 200 || status >= 300) {
        const text = await readBody(res).catch(() => '');
        throw new FrigateHttpError(
          `${label}: ${status} ${text.replace(/\s+/g, ' ').slice(0, 160)}`.trim(),
          status,
        );
      }
      if (o.as === 'stream') return res;
      const text = await readBody(res);
      if (o.as === 'text') return text;
      try {
        return JSON.parse(text);
      } catch {
        throw new FrigateHttpError(`${label}: ${status} but not JSON`, status);
      }
    }
  }

  private send(
    method: string,
    route: string,
    query: Record<string, string> | undefined,
    body: string | undefined,
    auth: boolean,
  ): Promise<IncomingMessage> {
    this.calls++;
    const url = new URL(route, this.base);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: '*/*' };
    if (auth && this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: this.agent }, (res) => {
        resolve(res);
      });
      req.setTimeout(this.opts.timeout_ms, () =>
        req.destroy(new Error(`no answer within ${this.opts.timeout_ms} ms`)),
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('connection closed mid-answer')));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createFrigateRecorder(
  options: FrigateRecorderOptions,
  log: Logger,
  deps?: FrigateDeps,
): Recorder & {
  takeCalls(): number;
} {
  return new FrigateRecorder(options, log, deps);
}
