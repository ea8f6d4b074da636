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
  checksum,
  decodeFrame,
  encodeFrame,
  encodeText,
  FrameSplitter,
  formatSipDate,
  messageBody,
  type SipMessage,
} from '../../src/ils/codec.ts';
import { ilsConfigWithDefaults } from '../../src/ils/config.ts';
import { createIlsPatronSource } from '../../src/ils/source.ts';
import { verdictFromStanding } from '../../src/ils/standing.ts';
import { createLogger } from '../../src/log/logger.ts';
import {
  exportResponseSchema,
  parseExportResponse,
  parseNvrStatus,
  parsePurgeResponse,
  purgeResponseSchema,
  statusSchema,
} from '../../src/nvr/messages.ts';
import {
  exportSchema,
  parseExportRequest,
  parsePurgeRequest,
  purgeSchema,
} from '../../src/nvr-agent/requests.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import type { PatronSource } from '../../src/contract/patron.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import type { FrameProfile as ReaderProfile } from '../../src/reader/config.ts';
import { createParser } from '../../src/reader/frames.ts';
import { openDb } from '../../src/store/db.ts';
import { openDoorJournal } from '../../src/store/door-journal.ts';
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
    entries: new EntryStore(db, openDoorJournal(':memory:')),
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
  return encodeFrame(patronReply(card, blocked), { encoding: 'cp850', errorDetection: true, seq });
}

/** The same reply as bytes without a trailer (for sealSipBody). */
export const sipReplyBody = (card: string, blocked: boolean): Buffer =>
  encodeText(messageBody(patronReply(card, blocked)), 'cp850');

function patronReply(card: string, blocked: boolean): SipMessage {
  const fixed = `${blocked ? 'Y' : ' '}${' '.repeat(13)}000${formatSipDate()}${'0000'.repeat(6)}`;
  return {
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
}

export type SipAnswer = (seq: number) => Buffer;

/**
 * A hostile library system on loopback: SC status answered properly, every patron request (and
 * resend request) answered by `answer`. `lookup()` asks through the real Sip2PatronSource and returns
 * the verdict the door would act on.
 */
export async function hostileSip2(options: { errorDetection?: boolean } = {}): Promise<{
  setAnswer(a: SipAnswer): void;
  verdict(card: string): Promise<string>;
  close(): Promise<void>;
}> {
  const errorDetection = options.errorDetection ?? true;
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
          socket.write(encodeFrame(status, { encoding: 'cp850', errorDetection, seq: decoded.seq ?? 0 }));
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
    error_detection: errorDetection,
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

/**
 * A hostile body (no trailer) framed so that it passes error detection: `AY<seq>AZ` and the checksum the
 * client will compute, so the bytes reach the field parser. Without error detection: the body and CR.
 */
export function sealSipBody(body: Buffer, seq: number, errorDetection: boolean): Buffer {
  if (!errorDetection) return Buffer.concat([body, Buffer.from('\r', 'latin1')]);
  const head = Buffer.concat([body, Buffer.from(`AY${seq % 10}AZ`, 'latin1')]);
  return Buffer.concat([head, Buffer.from(`${checksum(head)}\r`, 'latin1')]);
}

/** The card every hostile SIP2 answer is asked about. */
export const SIP_CARD = '10000001';
// cp850 has all of these, so a value goes over the wire unchanged ('|', CR and LF would split it).
const SIP_VALUE_CHARS = [...'YNyn 0123456789-.,:AZÅØÆåøæé', '\t', '\u0000', '\u007f'];
const SIP_TAGS = ['AA', 'AE', 'BL', 'CQ', 'BV', 'PA', 'PB', 'PC', 'AO', 'AF', 'AY', 'AZ'];

export interface HostileSipReply {
  body: Buffer;
  /** Whether the answer, read as SIP2 says, could let this card in; when false a grant is a bug. */
  mayAllow: boolean;
}

/**
 * A patron reply with hostile fixed and variable fields, as bytes without a trailer. Half are built field by
 * field (their meaning is known, so the oracle is exact); half are a blocked reply with bytes replaced
 * anywhere except the blocked flag (the oracle: a blocked patron never gets in, whatever else changed).
 */
export function hostileSipReply(rand: () => number, card = SIP_CARD): HostileSipReply {
  const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)]!;
  const text = (max: number) =>
    Array.from({ length: Math.floor(rand() * max) }, () => pick(SIP_VALUE_CHARS)).join('');
  if (rand() < 0.5) {
    const blocked = sipReplyBody(card, true);
    for (let n = 1 + Math.floor(rand() * 4); n > 0; n--) {
      const at = Math.floor(rand() * blocked.length);
      // Byte 2 is the blocked flag ('Y', first status position after the code).
      if (at !== 2) blocked[at] = Math.floor(rand() * 256);
    }
    // CR or LF inside would end the frame early: the client would see two frames, not this one.
    for (let i = 0; i < blocked.length; i++)
      if (blocked[i] === 0x0d || blocked[i] === 0x0a) blocked[i] = 0x7c;
    return { body: blocked, mayAllow: false };
  }
  // Mostly clear, so the fields decide; sometimes flags, lower case, or bytes SIP2 does not define.
  const status = Array.from({ length: 14 }, () =>
    rand() < 0.85 ? ' ' : pick(['Y', 'y', 'N', ...SIP_VALUE_CHARS]),
  ).join('');
  const rest = `000${formatSipDate()}${'0000'.repeat(6)}`;
  // Mostly the right fixed length; sometimes short or long, which shifts every field after it.
  const fixedLength = rand() < 0.8 ? rest.length : Math.floor(rand() * (rest.length + 10));
  const fixed = status + rest.padEnd(fixedLength, ' ').slice(0, fixedLength);
  // Near-miss values: what a lenient parser would read as this card or as yes.
  const nearYes = () => pick(['Y', 'Y', 'y', ' Y', 'Y ', 'YY', 'N', '', text(4)]);
  const nearCard = () => pick([card, card, ` ${card} `, '', `${card}0`, card.slice(1), '10000002', text(12)]);
  const fields: Array<[string, string]> =
    rand() < 0.7
      ? [
          ['AO', 'X'],
          ['AA', nearCard()],
          ['AE', text(12)],
          ['BL', nearYes()],
          ['CQ', nearYes()],
        ]
      : [];
  for (let n = Math.floor(rand() * 5); n > 0; n--) {
    const tag = rand() < 0.9 ? pick(SIP_TAGS) : text(3).padEnd(2, 'Q').slice(0, 2);
    const r = rand();
    const value = r < 0.3 ? nearYes() : r < 0.5 ? nearCard() : text(r < 0.9 ? 12 : 300);
    fields.splice(Math.floor(rand() * (fields.length + 1)), 0, [tag, value]);
  }
  const code = rand() < 0.9 ? '64' : pick(['24', '98', '94', '00', text(2).padEnd(2, '6')]);
  const message: SipMessage = { code, fixed, fields };
  const body = encodeText(messageBody(message), 'cp850');
  // Exact only when the fields sit where SIP2 says (right code, right fixed length).
  if (code !== '64' || fixedLength !== rest.length) return { body, mayAllow: !denies(status) };
  const first = (tag: string) => fields.find(([t]) => t === tag)?.[1];
  const echoed = first('AA')?.trim();
  const mayAllow =
    !denies(status) && first('BL') === 'Y' && (echoed === undefined || echoed === '' || echoed === card);
  return { body, mayAllow };
}

/** Status positions 0 (blocked) and 4 (card lost) deny by default; 'y' counts as 'Y'. */
const denies = (status: string) => [0, 4].some((i) => status[i] === 'Y' || status[i] === 'y');

// ------------------------------------------------------------------------------- MQTT

export const MQTT_PARSERS = {
  purgeRequest: parsePurgeRequest,
  exportRequest: parseExportRequest,
  purgeResponse: parsePurgeResponse,
  exportResponse: parseExportResponse,
  status: parseNvrStatus,
};

/** The schema each parser validates against (the generators in schema-arbitrary.ts build from these). */
export const MQTT_SCHEMAS: Record<keyof typeof MQTT_PARSERS, object> = {
  purgeRequest: purgeSchema,
  exportRequest: exportSchema,
  purgeResponse: purgeResponseSchema,
  exportResponse: exportResponseSchema,
  status: statusSchema,
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
