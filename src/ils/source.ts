/** The library system as a PatronSource, with a short cache of good answers. */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Alarms } from '../alarms/alarms.ts';
import type { SecretRef } from '../config/types.ts';
import type { PatronLookup, PatronSource, PatronStanding } from '../contract/patron.ts';
import type { Logger } from '../log/logger.ts';
import { Sip2Client } from './client.ts';
import type { IlsConfig } from './config.ts';
import type { ConnectionOptions } from './connection.ts';
import { standingFromPatronInfo, verdictFromStanding } from './standing.ts';

const CACHE_MAX = 2000;

export class Sip2PatronSource implements PatronSource {
  readonly name = 'sip2';
  readonly verifiesPin = true;
  // Keys are keyed hashes with a per-process key, so memory holds no card numbers or PINs.
  private readonly cacheKey = randomBytes(32);
  private readonly cache = new Map<string, { standing: PatronStanding; expires: number }>();

  constructor(
    readonly client: Sip2Client,
    private readonly config: IlsConfig,
    private readonly now: () => number = Date.now,
  ) {}

  async lookup(card: string, pin?: string): Promise<PatronLookup> {
    const pinGiven = pin !== undefined;
    const key = createHmac('sha256', this.cacheKey)
      .update(`${card}\u0000${pinGiven ? `1${pin}` : '0'}`)
      .digest('base64');
    const cached = this.cache.get(key);
    if (cached) {
      if (cached.expires > this.now())
        return { status: 'ok', standing: { ...cached.standing }, source: 'cache' };
      this.cache.delete(key);
    }
    const result = await this.client.patronInfo(card, pin);
    if (!result.ok) return { status: 'unavailable', error: result.error };
    const echoed = result.reply.card;
    // Without error detection this is the only guard against a reply meant for another swipe.
    if (echoed !== undefined && echoed.trim() !== '' && echoed.trim() !== card.trim()) {
      return { status: 'unavailable', error: 'the reply was for another card' };
    }
    const standing = standingFromPatronInfo(result.reply, this.config, pinGiven);
    if (this.config.cache_seconds > 0 && verdictFromStanding(standing, pinGiven) === 'allow') {
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, {
        standing: { ...standing },
        expires: this.now() + this.config.cache_seconds * 1000,
      });
    }
    return { status: 'ok', standing, source: 'live' };
  }

  /** Forgets cached answers (e.g. after staff changed a patron in the library system). */
  clearCache(): void {
    this.cache.clear();
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.client.close();
  }
}

export interface IlsSourceDeps {
  log: Logger;
  alarms?: Alarms | undefined;
  readSecret: (ref: SecretRef) => string;
  /** Connect at once so the first swipe is fast and an outage shows before anyone swipes (default true). */
  warmUp?: boolean | undefined;
  trace?: ConnectionOptions['trace'];
}

/** Connection options from the config section, secrets and TLS files read now (errors name the file). */
export function connectionOptionsFrom(
  config: IlsConfig,
  readSecret: (ref: SecretRef) => string,
  trace?: ConnectionOptions['trace'],
): ConnectionOptions {
  const readPem = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(
        `ils.tls.${what}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  };
  return {
    host: config.host,
    port: config.port,
    tls: config.tls.enabled
      ? {
          ca: readPem(config.tls.ca_file, 'ca_file'),
          cert: readPem(config.tls.cert_file, 'cert_file'),
          key: readPem(config.tls.key_file, 'key_file'),
          rejectUnauthorized: config.tls.reject_unauthorized,
          servername: config.tls.servername,
        }
      : undefined,
    encoding: config.encoding,
    errorDetection: config.error_detection,
    connectTimeoutMs: config.connect_timeout_ms,
    requestTimeoutMs: config.request_timeout_ms,
    resendLimit: config.resend_limit,
    user: config.user,
    password: config.password ? readSecret(config.password) : '',
    location: config.location,
    trace,
  };
}

export function createIlsPatronSource(config: IlsConfig, deps: IlsSourceDeps): Sip2PatronSource {
  const client = new Sip2Client({
    config,
    connection: connectionOptionsFrom(config, deps.readSecret, deps.trace),
    terminalPassword: config.terminal_password ? deps.readSecret(config.terminal_password) : '',
    log: deps.log,
    alarms: deps.alarms,
  });
  if (deps.warmUp !== false) void client.warmUp();
  return new Sip2PatronSource(client, config);
}
