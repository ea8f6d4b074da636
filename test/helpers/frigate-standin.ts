/**
 * A Frigate stand-in for the `frigate` recorder's tests and bench: a real HTTP server on loopback, a real SQLite
 * file shaped like `frigate.db`'s `recordings` table, real segment files under `recordings/`. Each route follows
 * the Frigate source named beside it (blakeblackshear/frigate); the facts are in docs/recorders/frigate.md.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import Database from 'better-sqlite3';

export type StandinVersion = '0.14.1' | '0.16.2' | '0.17.0' | '0.18.0';

const BUILD: Record<StandinVersion, string> = {
  '0.14.1': '0.14.1-f4f3cfa',
  '0.16.2': '0.16.2-4d58206',
  '0.17.0': '0.17.0-7d1a2b3',
  '0.18.0': '0.18.0-9c0e5f1',
};

export interface StandinOptions {
  version: StandinVersion;
  /** Frigate's media folder (`/media/frigate`): gets `recordings/` and `frigate.db`. */
  root: string;
  cameras: string[];
  /** Port 8971 mode: login required; otherwise the internal port 5000 (nginx marks it admin, no token). */
  auth?: { user: string; password: string; sessionSeconds?: number };
  /** Frigate's own retention in its config (days). */
  retainDays?: number;
  /** 0.17+: started in safe mode (the config failed validation): no cameras, no cleanup. */
  safeMode?: boolean;
  /** Replaces the `version` string (for unsupported or garbled versions). */
  versionString?: string;
}

export interface SegmentRow {
  id: string;
  camera: string;
  path: string;
  start_time: number;
  end_time: number;
  duration: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** frigate/record/maintainer.py `move_segment`: directory `%Y-%m-%d/%H/<camera>`, file `%M.%S.mp4`, UTC. */
export function standinRel(camera: string, startS: number): string {
  const d = new Date(Math.floor(startS) * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/${camera}/${pad(d.getUTCMinutes())}.${pad(d.getUTCSeconds())}.mp4`;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class FrigateStandin {
  readonly db: Database.Database;
  readonly recordingsDir: string;
  /** Every request as `METHOD path?query`, in order. */
  readonly requests: string[] = [];
  logins = 0;
  /** Time spent answering requests (ms): Frigate's side of the work. */
  busyMs = 0;
  private server!: Server;
  private port = 0;
  private readonly secret = randomBytes(32);
  /** Added to the clock for tokens: moving it on expires every token issued so far. */
  private clockOffsetS = 0;
  /** Injected failures: route prefix → statuses to answer, one per request. */
  private readonly failures: { prefix: string; statuses: number[] }[] = [];
  private readonly insert: Database.Statement;

  private constructor(readonly opts: StandinOptions) {
    this.recordingsDir = join(opts.root, 'recordings');
    mkdirSync(this.recordingsDir, { recursive: true });
    this.db = new Database(join(opts.root, 'frigate.db'));
    this.db.pragma('journal_mode = WAL');
    // frigate/models.py `Recordings` (peewee: CharField → VARCHAR, DateTimeField holds the unix float).
    // `regions` is written by the maintainer of some versions and absent from later models.py.
    this.db.exec(`CREATE TABLE IF NOT EXISTS "recordings" (
      "id" VARCHAR(30) NOT NULL PRIMARY KEY,
      "camera" VARCHAR(20) NOT NULL,
      "path" VARCHAR(255) NOT NULL,
      "start_time" DATETIME NOT NULL,
      "end_time" DATETIME NOT NULL,
      "duration" REAL NOT NULL,
      "motion" INTEGER,
      "objects" INTEGER,
      "dBFS" INTEGER,
      "segment_size" REAL NOT NULL DEFAULT 0,
      "regions" INTEGER
    );
    CREATE INDEX IF NOT EXISTS "recordings_camera" ON "recordings" ("camera");
    CREATE UNIQUE INDEX IF NOT EXISTS "recordings_path" ON "recordings" ("path");
    CREATE INDEX IF NOT EXISTS "recordings_camera_start" ON "recordings" ("camera", "start_time");`);
    this.insert = this.db.prepare(
      'INSERT INTO recordings (id, camera, path, start_time, end_time, duration, motion, objects, dBFS, segment_size, regions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  static async start(opts: StandinOptions): Promise<FrigateStandin> {
    const s = new FrigateStandin(opts);
    s.server = createServer((req, res) => {
      s.handle(req, res).catch((error: Error) => {
        if (!res.headersSent) s.json(res, 500, { success: false, message: error.message });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get versionString(): string {
    return this.opts.versionString ?? BUILD[this.opts.version];
  }

  private get minor(): number {
    return Number(this.opts.version.split('.')[1]);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.db.close();
  }

  /**
   * Adds one segment as Frigate's maintainer would: `start_time` whole seconds (the cache file's name),
   * `end_time` = start + the probed duration, id `<start>-<6 random>`, a real file of `bytes` random bytes.
   */
  addSegment(camera: string, startS: number, durationS: number, bytes = 256, writeFile = true): SegmentRow {
    const start = Math.floor(startS);
    const rel = standinRel(camera, start);
    const path = join(this.recordingsDir, rel);
    if (writeFile) {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, randomBytes(bytes));
    }
    const id = `${start}.0-${randomBytes(4).toString('hex').slice(0, 6)}`;
    const end = start + durationS;
    this.insert.run(id, camera, path, start, end, durationS, 1, 0, 0, bytes / 2 ** 20, 0);
    return { id, camera, path, start_time: start, end_time: end, duration: durationS };
  }

  /** Many segments in one transaction (the bench). */
  addSegments(
    list: { camera: string; startS: number; durationS: number }[],
    bytes = 1,
    writeFiles = true,
  ): void {
    const made = new Set<string>();
    this.db.transaction(() => {
      for (const s of list) {
        const start = Math.floor(s.startS);
        const rel = standinRel(s.camera, start);
        const path = join(this.recordingsDir, rel);
        if (writeFiles) {
          const dir = join(path, '..');
          if (!made.has(dir)) {
            mkdirSync(dir, { recursive: true });
            made.add(dir);
          }
          writeFileSync(path, randomBytes(bytes));
        }
        const id = `${start}.0-${randomBytes(4).toString('hex').slice(0, 6)}`;
        this.insert.run(id, s.camera, path, start, start + s.durationS, s.durationS, 1, 0, 0, 0, 0);
      }
    })();
  }

  rows(camera?: string): SegmentRow[] {
    const sql = 'SELECT id, camera, path, start_time, end_time, duration FROM recordings';
    return (
      camera
        ? this.db.prepare(`${sql} WHERE camera = ? ORDER BY start_time`).all(camera)
        : this.db.prepare(`${sql} ORDER BY camera, start_time`).all()
    ) as SegmentRow[];
  }

  fileSha256(row: SegmentRow): string {
    return createHash('sha256').update(readFileSync(row.path)).digest('hex');
  }

  /** Deletes every row and file (between property-test runs). */
  reset(): void {
    this.db.exec('DELETE FROM recordings');
    rmSync(this.recordingsDir, { recursive: true, force: true });
    mkdirSync(this.recordingsDir, { recursive: true });
    this.requests.length = 0;
  }

  /** Tokens issued so far stop working (their `exp` passed, or Frigate restarted with a new JWT secret). */
  expireTokens(): void {
    this.clockOffsetS += (this.opts.auth?.sessionSeconds ?? 86_400) + 1;
  }

  private nowS(): number {
    return Math.floor(Date.now() / 1000) + this.clockOffsetS;
  }

  /** The next requests whose path starts with `prefix` get these statuses. */
  failNext(prefix: string, ...statuses: number[]): void {
    this.failures.push({ prefix, statuses });
  }

  /**
   * Frigate's own retention, as frigate/record/cleanup.py `RecordingCleanup.expire_recordings` does it per camera:
   * rows with `end_time < now - retain days` that overlap no event (the stand-in has none) lose their file and
   * row. It deletes held footage too: Frigate knows nothing of the agent's holds. Not run in safe mode.
   */
  runRetention(nowS = Date.now() / 1000): number {
    if (this.opts.safeMode) return 0;
    const expire = nowS - (this.opts.retainDays ?? 10) * 86_400;
    const rows = this.db
      .prepare('SELECT id, path FROM recordings WHERE end_time < ? ORDER BY start_time')
      .all(expire) as { id: string; path: string }[];
    const del = this.db.prepare('DELETE FROM recordings WHERE id = ?');
    this.db.transaction(() => {
      for (const r of rows) {
        rmSync(r.path, { force: true });
        del.run(r.id);
      }
    })();
    return rows.length;
  }

  // ---- HTTP

  private json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const began = process.hrtime.bigint();
    res.on('finish', () => {
      this.busyMs += Number(process.hrtime.bigint() - began) / 1e6;
    });
    this.requests.push(`${req.method} ${path}${url.search}`);
    const failure = this.failures.find((f) => path.startsWith(f.prefix) && f.statuses.length > 0);
    if (failure) {
      const status = failure.statuses.shift()!;
      return this.json(res, status, { message: 'injected failure' });
    }

    // nginx.conf: `location /api/login` has `auth_request off`; every other location includes auth_request.conf.
    if (req.method === 'POST' && path === '/api/login') return this.login(req, res);
    if (this.opts.auth && !this.authorised(req))
      return this.json(res, 401, { message: 'Authentication required' });

    if (req.method === 'GET' && path === '/api/version') {
      // frigate/api/app.py `version`: the VERSION string from frigate/version.py, as text.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(this.versionString);
    }
    if (req.method === 'GET' && path === '/api/config') return this.json(res, 200, this.config());
    if (req.method === 'GET' && path.startsWith('/recordings/')) return this.serveFile(path, res);

    let m = /^\/api\/([^/]+)\/recordings\/summary$/.exec(path);
    if (req.method === 'GET' && m) return this.summary(decodeURIComponent(m[1]!), res);
    m = /^\/api\/([^/]+)\/recordings$/.exec(path);
    if (req.method === 'GET' && m) return this.recordings(decodeURIComponent(m[1]!), url, res);
    m = /^\/api\/recordings\/start\/([^/]+)\/end\/([^/]+)$/.exec(path);
    if (req.method === 'DELETE' && m && this.minor >= 18) return this.deleteRange(m[1]!, m[2]!, url, res);
    // FastAPI's answer for a route that does not exist (the delete route before 0.18).
    return this.json(res, 404, { detail: 'Not Found' });
  }

  /** frigate/api/auth.py `login`: body {user, password}; 200 with a `frigate_token` JWT cookie, else 401. */
  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: { user?: unknown; password?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return this.json(res, 422, { detail: 'invalid body' });
    }
    const auth = this.opts.auth;
    if (!auth || body.user !== auth.user || body.password !== auth.password) {
      return this.json(res, 401, { message: 'Login failed' });
    }
    this.logins++;
    const now = this.nowS();
    const exp = now + (auth.sessionSeconds ?? 86_400);
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const claims = b64url(JSON.stringify({ sub: auth.user, role: 'admin', exp, iat: now }));
    const sig = b64url(createHmac('sha256', this.secret).update(`${head}.${claims}`).digest());
    res.writeHead(200, {
      'set-cookie': `frigate_token=${head}.${claims}.${sig}; expires=${new Date(exp * 1000).toUTCString()}; HttpOnly; Path=/; SameSite=lax`,
      'content-length': 0,
    });
    res.end();
  }

  /** frigate/api/auth.py `auth` (nginx's auth_request): a Bearer header or the cookie; HS256; `exp` in the future. */
  private authorised(req: IncomingMessage): boolean {
    let token: string | undefined;
    const h = req.headers.authorization;
    if (h?.startsWith('Bearer ')) token = h.slice(7);
    else token = /(?:^|;\s*)frigate_token=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (!token) return false;
    const [head, claims, sig] = token.split('.');
    if (!head || !claims || !sig) return false;
    const want = b64url(createHmac('sha256', this.secret).update(`${head}.${claims}`).digest());
    if (want !== sig) return false;
    const c = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as { exp: number };
    return c.exp > this.nowS();
  }

  /** The effective config: record retention in each version's schema (0.14–0.16 `retain`, 0.17+ `continuous`/`motion`). */
  private config(): unknown {
    const days = this.opts.retainDays ?? 10;
    const record =
      this.minor >= 17
        ? {
            enabled: true,
            expire_interval: 60,
            continuous: { days },
            motion: { days },
            alerts: { retain: { days, mode: 'motion' } },
            detections: { retain: { days, mode: 'motion' } },
          }
        : {
            enabled: true,
            expire_interval: 60,
            retain: { days, mode: 'all' },
            alerts: { retain: { days, mode: 'motion' } },
            detections: { retain: { days, mode: 'motion' } },
          };
    const safe = this.minor >= 17 && this.opts.safeMode === true;
    const snapshots = { enabled: true, retain: { default: days, objects: {} } };
    // The effective config: every camera carries the full sections it inherited, snapshots included.
    const cameras: Record<string, unknown> = {};
    if (!safe) for (const c of this.opts.cameras) cameras[c] = { name: c, enabled: true, record, snapshots };
    return {
      ...(this.minor >= 17 ? { safe_mode: safe } : {}),
      mqtt: { enabled: !safe },
      record,
      snapshots,
      cameras,
    };
  }

  /** Float query parameter as FastAPI parses it; absent: the default. */
  private float(url: URL, name: string, dflt: number): number | null {
    const v = url.searchParams.get(name);
    if (v === null) return dflt;
    const n = Number(v);
    return v.trim() === '' || !Number.isFinite(n) ? null : n;
  }

  /**
   * frigate/api/record.py (earlier frigate/api/media.py) `recordings`: `after`/`before` floats defaulting to the
   * last hour; rows with `end_time >= after AND start_time <= before`, ordered by start; the listed columns.
   */
  private recordings(camera: string, url: URL, res: ServerResponse): void {
    const now = Date.now() / 1000;
    const after = this.float(url, 'after', now - 3600);
    const before = this.float(url, 'before', now);
    if (after === null || before === null) {
      this.json(res, 422, { detail: 'after/before must be numbers' });
      return;
    }
    const rows = this.db
      .prepare(
        'SELECT id, start_time, end_time, segment_size, motion, objects, duration FROM recordings WHERE camera = ? AND end_time >= ? AND start_time <= ? ORDER BY start_time',
      )
      .all(camera, after, before);
    this.json(res, 200, rows);
  }

  /** frigate/api/record.py `recordings_summary` with timezone utc: one entry per day, newest first, hours inside. */
  private summary(camera: string, res: ServerResponse): void {
    const rows = this.db
      .prepare(
        `SELECT strftime('%Y-%m-%d %H', datetime(start_time, 'unixepoch')) AS hour, SUM(duration) AS duration,
                SUM(motion) AS motion, SUM(objects) AS objects
         FROM recordings WHERE camera = ? GROUP BY CAST(start_time AS INT) / 3600 ORDER BY start_time DESC`,
      )
      .all(camera) as { hour: string; duration: number; motion: number; objects: number }[];
    const days = new Map<string, { events: number; hours: unknown[]; day: string }>();
    for (const r of rows) {
      const [day, hour] = r.hour.split(' ') as [string, string];
      const entry = days.get(day) ?? { events: 0, hours: [], day };
      entry.hours.push({
        hour,
        events: 0,
        motion: r.motion,
        objects: r.objects,
        duration: Math.round(r.duration),
      });
      days.set(day, entry);
    }
    this.json(res, 200, [...days.values()]);
  }

  /**
   * frigate/api/record.py `delete_recordings` (0.18+): start >= end → 400; `cameras` ("all" or a list, intersected
   * with the allowed cameras) → 400 when none; rows with start_time BETWEEN start AND end, OR end_time BETWEEN
   * start AND end, OR (start > start_time AND end < end_time): inclusive. Unlinks each file, then deletes the rows.
   */
  private deleteRange(startText: string, endText: string, url: URL, res: ServerResponse): void {
    const start = Number(startText);
    const end = Number(endText);
    if (!Number.isFinite(start) || !Number.isFinite(end)) {
      this.json(res, 422, { detail: 'start/end must be numbers' });
      return;
    }
    if (start >= end) {
      this.json(res, 400, { success: false, message: 'Start time must be less than end time.' });
      return;
    }
    const requested = url.searchParams.get('cameras') ?? 'all';
    const allowed = this.opts.cameras;
    const cameras = requested === 'all' ? allowed : requested.split(',').filter((c) => allowed.includes(c));
    if (cameras.length === 0) {
      this.json(res, 400, { success: false, message: 'No valid cameras found in the request.' });
      return;
    }
    const rows = this.db
      .prepare(
        `SELECT id, path FROM recordings
         WHERE (start_time BETWEEN ? AND ? OR end_time BETWEEN ? AND ? OR (? > start_time AND ? < end_time))
           AND camera IN (${cameras.map(() => '?').join(',')})`,
      )
      .all(start, end, start, end, start, end, ...cameras) as { id: string; path: string }[];
    let deleted = 0;
    for (const r of rows) {
      rmSync(r.path, { force: true });
      deleted++;
    }
    const del = this.db.prepare('DELETE FROM recordings WHERE id = ?');
    this.db.transaction(() => {
      for (const r of rows) del.run(r.id);
    })();
    this.json(res, 200, { success: true, message: `Successfully deleted ${deleted} recording(s).` });
  }

  /** nginx.conf `location /recordings/`: static files from root /media/frigate, behind auth_request. */
  private serveFile(path: string, res: ServerResponse): void {
    const rel = normalize(decodeURIComponent(path.slice('/recordings/'.length)));
    if (rel.startsWith('..') || rel.includes(`${sep}..${sep}`)) {
      this.json(res, 404, {});
      return;
    }
    const file = join(this.recordingsDir, rel);
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      res.writeHead(404, { 'content-type': 'text/html' });
      return void res.end('<html><body>404 Not Found</body></html>');
    }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
    createReadStream(file).pipe(res);
  }
}
