/**
 * Fuzz targets shared by the long run (`npm run fuzz`, test/fuzz/long-fuzz.ts) and the fast-check
 * properties in the normal suite. Each feeds hostile input through the real code and counts what
 * must never happen: a grant by mistake, a throw, a personal datum where it does not belong.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { AccessGate, type GateDoor } from '../../src/access/gate.ts';
import { Alarms } from '../../src/alarms/alarms.ts';
import { Consents } from '../../src/consent/consents.ts';
import { EventBus } from '../../src/events/bus.ts';
import {
  decodeFrame,
  encodeFrame,
  FrameSplitter,
  formatSipDate,
  type SipMessage,
} from '../../src/ils/codec.ts';
import { ilsConfigWithDefaults } from '../../src/ils/config.ts';
import { createIlsPatronSource } from '../../src/ils/source.ts';
import { verdictFromStanding } from '../../src/ils/standing.ts';
import { createLogger } from '../../src/log/logger.ts';
import { parseExportResponse, parseNvrStatus, parsePurgeResponse } from '../../src/nvr/messages.ts';
import { parseExportRequest, parsePurgeRequest } from '../../src/nvr-agent/requests.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import type { PatronSource } from '../../src/contract/patron.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import type { ReaderProfile } from '../../src/reader/config.ts';
import { createParser } from '../../src/reader/frames.ts';
import { openDb } from '../../src/store/db.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { EmergencyModes } from '../../src/emergency/modes.ts';
import { LocalAccessLookup } from '../../src/local-access/facts.ts';

const silent = createLogger('silent');
export const VALID_LINE_CARDS = Array.from({ length: 20 }, (_, i) => String(10_000_001 + i));
/** EM4100 tags (10 hex digits) as the stx-etx profile reports them. */
export const VALID_TAGS = ['0A1B2C3D4E', '62E3086CED', '0102030405'];
const VALID_PIN = '1234';

function xor(hex: string): string {
  let x = 0;
  for (let i = 0; i < hex.length; i += 2) x ^= Number.parseInt(hex.slice(i, i + 2), 16);
  return x.toString(16).toUpperCase().padStart(2, '0');
}
/** A well-formed frame of a valid card for the profile (the stream mixes these into the garbage). */
export function validFrame(profile: ReaderProfile, pick: number): Buffer {
  if (profile === 'stx-etx') {
    const tag = VALID_TAGS[pick % VALID_TAGS.length]!;
    return Buffer.from(`\x02${tag}${xor(tag)}\r\n\x03`, 'latin1');
  }
  const card = VALID_LINE_CARDS[pick % VALID_LINE_CARDS.length]!;
  // `*` clears typed garbage before the card, as a patron would on a keypad.
  return Buffer.from(profile === 'keypad' ? `*\r\n${card}\r\n${VALID_PIN}#` : `\r\n${card}\r\n`, 'latin1');
}

export interface ReaderGateStats {
  bytes: number;
  swipes: number;
  rejected: number;
  grants: number;
  validFramesSent: number;
  /** Grants for a card that is not registered with both consents: must stay 0. */
  mistakenGrants: number;
}

/**
 * Reader parser (one profile) → AccessGate (real store in memory, local registry, consents) → a door
 * that counts grants. Feed chunks; `finish()` drains the swipe queue and reports.
 */
export function readerGate(profile: ReaderProfile) {
  const db = openDb(':memory:');
  const hash = cardHasher('fuzz-site-key-0123456789abcdef');
  const bus = new EventBus();
  const alarms = new Alarms(db, bus, silent);
  const consents = new Consents(db);
  const registry = new LocalPatronSource(db, hash, () => '2026-11-26');
  const valid = new Set<string>();
  for (const card of [...VALID_LINE_CARDS, ...VALID_TAGS]) {
    registry.put(card, { category: 'V', birthYear: 1980 });
    for (const kind of ['agreement', 'camera'] as const) consents.sign(hash(card), kind, '1', 0, 'fuzz');
    valid.add(card);
  }
  // The keypad needs a source that checks PINs (the local registry cannot): valid cards, PIN 1234.
  const pinChecking: PatronSource = {
    name: 'fuzz-pins',
    verifiesPin: true,
    async lookup(card, pin) {
      const known = valid.has(card);
      return {
        status: 'ok',
        source: 'live',
        standing: {
          known,
          pinOk: pin === undefined ? null : known && pin === VALID_PIN,
          blocked: false,
          cardLost: false,
          expired: false,
          finesExceeded: false,
          category: 'V',
          birthYear: 1980,
        },
      };
    },
  };
  const gate = new AccessGate({
    entries: new EntryStore(db),
    consents,
    patrons: profile === 'keypad' ? pinChecking : registry,
    hashCard: hash,
    localAccess: new LocalAccessLookup(db, 'Europe/Oslo'),
    emergency: new EmergencyModes(db),
    alarms,
    bus,
    log: silent,
    timezone: 'Europe/Oslo',
    language: 'en',
    pinLockout: { attempts: 5, minutes: 15 },
    offlineKnownDays: 14,
  });
  const stats: ReaderGateStats = {
    bytes: 0,
    swipes: 0,
    rejected: 0,
    grants: 0,
    validFramesSent: 0,
    mistakenGrants: 0,
  };
  let current: { card: string; pin?: string | undefined } = { card: '' };
  const door: GateDoor = {
    id: 'main',
    policy: {
      staffedMode: 'card',
      requirePin: profile === 'keypad',
      minAge: 15,
      categoriesAllowedAlone: [],
      categoriesDenied: [],
      offlinePolicy: 'deny',
    },
    scheduleState: () => 'staffless',
    grant() {
      stats.grants++;
      if (!valid.has(current.card) || (profile === 'keypad' && current.pin !== VALID_PIN))
        stats.mistakenGrants++;
    },
    deny() {},
  };
  const parser = createParser(profile, { card_pattern: '^[0-9A-Za-z]{4,32}$', pin_timeout_ms: 5000 });
  let now = 0;
  const swipes: { card: string; pin?: string | undefined }[] = [];
  const take = (results: ReturnType<typeof parser.push>) => {
    for (const r of results) {
      if (r.kind === 'swipe') swipes.push({ card: r.card, pin: r.pin });
      else stats.rejected++;
    }
  };
  return {
    stats,
    push(chunk: Uint8Array) {
      stats.bytes += chunk.length;
      now += 7;
      take(parser.push(chunk, now));
      take(parser.expire(now));
    },
    pushValid(pick: number) {
      stats.validFramesSent++;
      this.push(validFrame(profile, pick));
    },
    async drain() {
      for (const swipe of swipes.splice(0)) {
        stats.swipes++;
        current = swipe;
        await gate.handle(door, swipe);
      }
    },
    close() {
      db.close();
    },
  };
}

// ------------------------------------------------------------------------------- SIP2

const header = () => `64${' '.repeat(14)}000${formatSipDate()}${'0000'.repeat(6)}`;
/** A reply for `card`; `blocked` sets the first status position (charge privileges denied). */
export function sipReply(seq: number, card: string, blocked: boolean): Buffer {
  const fixed = `${blocked ? 'Y' : ' '}${' '.repeat(13)}000${formatSipDate()}${'0000'.repeat(6)}`;
  const message: SipMessage = {
    code: '64',
    fixed,
    fields: [
      ['AO', 'X'],
      ['AA', card],
      ['AE', 'Åse Ødegård'],
      ['BL', 'Y'],
      ['CQ', 'Y'],
    ],
  };
  return encodeFrame(message, { encoding: 'cp850', errorDetection: true, seq });
}

export type SipAnswer = (seq: number) => Buffer;

/**
 * A hostile library system on loopback: SC status answered properly, every patron request (and
 * resend request) answered by `answer`. `lookup()` asks through the real Sip2PatronSource and returns
 * the verdict the door would act on.
 */
export async function hostileSip2(): Promise<{
  setAnswer(a: SipAnswer): void;
  verdict(card: string): Promise<string>;
  close(): Promise<void>;
}> {
  let answer: SipAnswer = () => Buffer.alloc(0);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const splitter = new FrameSplitter();
    let patronSeq = 0;
    socket.on('data', (chunk) => {
      for (const frame of splitter.push(chunk)) {
        let decoded: ReturnType<typeof decodeFrame>;
        try {
          decoded = decodeFrame(frame, 'cp850');
        } catch {
          continue;
        }
        if (decoded.message.code === '99') {
          const status: SipMessage = {
            code: '98',
            fixed: `YYYYNY030003${formatSipDate()}2.00`,
            fields: [['AO', 'X']],
          };
          socket.write(
            encodeFrame(status, { encoding: 'cp850', errorDetection: true, seq: decoded.seq ?? 0 }),
          );
        } else {
          if (decoded.message.code !== '97') patronSeq = decoded.seq ?? 0;
          socket.write(answer(patronSeq));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const config = ilsConfigWithDefaults({
    host: '127.0.0.1',
    port,
    institution: 'X',
    error_detection: true,
    request_timeout_ms: 150,
    connect_timeout_ms: 500,
    resend_limit: 1,
    retries: 0,
    heartbeat_seconds: 0,
    cache_seconds: 0,
    circuit: { failure_threshold: 1_000_000, backoff_min_ms: 10, backoff_max_ms: 10 },
  });
  const source = createIlsPatronSource(config, { log: silent, readSecret: () => '', warmUp: false });
  return {
    setAnswer(a) {
      answer = a;
    },
    async verdict(card) {
      const lookup = await source.lookup(card);
      return lookup.status === 'ok' ? verdictFromStanding(lookup.standing, false) : 'unavailable';
    },
    async close() {
      await source.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

export { header as sipHeader };

// ------------------------------------------------------------------------------- MQTT

export const MQTT_PARSERS = {
  purgeRequest: parsePurgeRequest,
  exportRequest: parseExportRequest,
  purgeResponse: parsePurgeResponse,
  exportResponse: parseExportResponse,
  status: parseNvrStatus,
};

/**
 * Runs every NVR payload parser on one payload. Returns the names that threw (must be none) and
 * checks that nothing polluted Object.prototype.
 */
export function mqttParsers(payload: Buffer): { threw: string[]; accepted: string[]; polluted: boolean } {
  const threw: string[] = [];
  const accepted: string[] = [];
  for (const [name, parse] of Object.entries(MQTT_PARSERS)) {
    try {
      if (parse(payload).ok) accepted.push(name);
    } catch {
      threw.push(name);
    }
  }
  const polluted = ({} as Record<string, unknown>).polluted !== undefined;
  return { threw, accepted, polluted };
}

/** Hostile JSON shapes: wrong types, huge numbers, prototype keys, deep nesting, path tricks. */
export function hostileJson(rand: () => number): string {
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  const value = (depth: number): unknown => {
    const r = rand();
    if (depth > 4 || r < 0.3)
      return pick<unknown>([
        null,
        true,
        -1,
        1e308,
        Number.MAX_SAFE_INTEGER + 2,
        '',
        '../../etc/passwd',
        '2026-13-45T99:99:99Z',
        '2026-11-26T10:00:00Z',
        'x'.repeat(Math.floor(rand() * 5000)),
        '\u0000\ud800',
        'cam1',
      ]);
    if (r < 0.6) return Array.from({ length: Math.floor(rand() * 5) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rand() * 6); i > 0; i--)
      o[
        pick([
          'id',
          'ok',
          'before',
          'cameras',
          'holds',
          'from',
          'to',
          'ts',
          'case',
          'oldest',
          'deleted',
          'error',
          'location',
          'sha256',
          'state',
          '__proto__',
          'constructor',
          'polluted',
        ])
      ] = value(depth + 1);
    return o;
  };
  const text = JSON.stringify(value(0)) ?? 'null';
  // Sometimes a literal __proto__ key, which JSON.stringify would not write.
  return rand() < 0.1 ? `{"__proto__":{"polluted":1},"id":"x","ok":true}` : text;
}
