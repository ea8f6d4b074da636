import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { silentLog } from './helpers.ts';

/**
 * A hostile library system: answers SC status properly, then answers the patron request (and every
 * resend request) with whatever bytes the property gives it.
 */
let server: Server;
let port: number;
let answer: (seq: number | null) => Buffer = () => Buffer.alloc(0);
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const splitter = new FrameSplitter();
    let patronSeq: number | null = null;
    socket.on('data', (chunk) => {
      for (const frame of splitter.push(chunk)) {
        const { message, seq } = decodeFrame(frame, 'cp850');
        if (message.code === '99') {
          const status: SipMessage = {
            code: '98',
            fixed: `YYYYNY030003${formatSipDate()}2.00`,
            fields: [['AO', 'X']],
          };
          socket.write(
            encodeFrame(status, { encoding: 'cp850', errorDetection: seq !== null, seq: seq ?? 0 }),
          );
        } else {
          if (message.code !== '97') patronSeq = seq;
          socket.write(answer(patronSeq));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function verdictWith(errorDetection: boolean, timeoutMs = 250) {
  const config = ilsConfigWithDefaults({
    host: '127.0.0.1',
    port,
    institution: 'X',
    error_detection: errorDetection,
    request_timeout_ms: timeoutMs,
    connect_timeout_ms: 500,
    resend_limit: 1,
    retries: 0,
    heartbeat_seconds: 0,
    cache_seconds: 0,
    circuit: { failure_threshold: 1000, backoff_min_ms: 1000, backoff_max_ms: 1000 },
  });
  const source = createIlsPatronSource(config, { log: silentLog, readSecret: () => '', warmUp: false });
  try {
    const lookup = await source.lookup('10000001', '1234');
    return lookup.status === 'ok' ? verdictFromStanding(lookup.standing, true) : 'unavailable';
  } finally {
    await source.close();
  }
}

const allowReply = (seq: number | null, errorDetection: boolean, card = '10000001') =>
  encodeFrame(
    {
      code: '64',
      fixed: `${' '.repeat(14)}000${formatSipDate()}${'0000'.repeat(6)}`,
      fields: [
        ['AO', 'X'],
        ['AA', card],
        ['AE', 'Åse Ødegård'],
        ['BL', 'Y'],
        ['CQ', 'Y'],
      ],
    },
    { encoding: 'cp850', errorDetection, seq: seq ?? 0 },
  );

describe('whatever the server sends, nothing but a well-formed good answer grants', () => {
  it('the unmutated answer does grant (so the properties below can fail)', async () => {
    answer = (seq) => allowReply(seq, true);
    expect(await verdictWith(true, 5000)).toBe('allow');
    answer = (seq) => allowReply(seq, false);
    expect(await verdictWith(false, 5000)).toBe('allow');
  });

  it('a well-formed granting answer for another card is not used', async () => {
    answer = (seq) => allowReply(seq, true, '10000002');
    expect(await verdictWith(true, 5000)).toBe('unavailable');
    answer = (seq) => allowReply(seq, false, '10000002');
    expect(await verdictWith(false, 5000)).toBe('unavailable');
  });

  it('random bytes never grant, with or without error detection', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 160 }), fc.boolean(), async (bytes, errorDetection) => {
        answer = () => Buffer.concat([Buffer.from(bytes), Buffer.from('\r')]);
        expect(await verdictWith(errorDetection)).not.toBe('allow');
      }),
      { numRuns: 60 },
    );
  });

  it('random bytes after a valid-looking header never grant', async () => {
    const header = `64${' '.repeat(14)}000${formatSipDate()}${'0000'.repeat(6)}`;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 80 }), fc.boolean(), async (bytes, errorDetection) => {
        answer = () => Buffer.concat([Buffer.from(header, 'latin1'), Buffer.from(bytes), Buffer.from('\r')]);
        expect(await verdictWith(errorDetection)).not.toBe('allow');
      }),
      { numRuns: 40 },
    );
  });

  it('any single corrupted byte in a granting answer is caught by the checksum', async () => {
    const length = allowReply(0, true).length;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: length - 6 }), // before the four checksum digits and the terminator
        fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x0d && b !== 0x0a),
        async (at, value) => {
          let changed = false;
          answer = (seq) => {
            const frame = Buffer.from(allowReply(seq, true));
            changed = frame[at] !== value;
            frame[at] = value;
            return frame;
          };
          const verdict = await verdictWith(true);
          if (changed) expect(verdict).not.toBe('allow');
        },
      ),
      { numRuns: 60 },
    );
  });
});
