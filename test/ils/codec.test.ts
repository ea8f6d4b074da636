import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checksum,
  checksumOfText,
  decodeFrame,
  encodeFrame,
  FrameSplitter,
  formatSipDate,
  parseSipDay,
  redactSip,
  SipDecodeError,
  type SipMessage,
} from '../../src/ils/codec.ts';
import type { SipEncoding } from '../../src/ils/config.ts';
import {
  loginRequest,
  parseAcsStatus,
  patronInformationRequest,
  patronStatusRequest,
  scStatusRequest,
} from '../../src/ils/messages.ts';

describe('checksum', () => {
  // Vectors from other implementations' own test suites and the 3M developers guide.
  const vectors: Array<[string, string, string]> = [
    ['941AY0AZ', 'FDFD', 'SIP2 issue / Koha, Evergreen: login response'],
    ['990 402.00AY1AZ', 'FCB4', '3M SIP2 Developers Guide p. 26 (Evergreen SIPServer t/01checksum.t)'],
    [
      '01Y19700101    010000AAPatron|ACPassword|ALMessage|AOInstitution|AY0AZ',
      'E964',
      'ceridwen SIP (Java), BlockPatronTest',
    ],
    [
      '3720180723    0946110102USDBV2.34|AOBanjo|AApaul|AC|ADfoo|AY0AZ',
      'EE70',
      'lordelph/php-sip2, FeePaidRequestTest',
    ],
    ['9300CNadmin|COpassword|CPMainLib|AY0AZ', 'F28D', 'a TypeScript SIP2 bridge checksum test'],
  ];
  it.each(vectors)('%s → %s (%s)', (text, expected) => {
    expect(checksumOfText(text)).toBe(expected);
  });

  it('is the two’s complement of the 16-bit byte sum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const sum = bytes.reduce((s, b) => s + b, 0);
        expect((sum + Number.parseInt(checksum(bytes), 16)) & 0xffff).toBe(0);
        expect(checksum(bytes)).toMatch(/^[0-9A-F]{4}$/);
      }),
    );
  });

  it('decodes the known vectors as valid, in upper or lower case', () => {
    const frame = Buffer.from('941AY0AZfdfd', 'latin1');
    expect(decodeFrame(frame, 'cp850')).toMatchObject({
      seq: 0,
      checksumOk: true,
      message: { code: '94', fixed: '1' },
    });
    const status = decodeFrame(
      Buffer.from('98YYYYNY03000320261126    0921222.00AODEMO|AY1AZ0000', 'latin1'),
      'cp850',
    );
    expect(status.checksumOk).toBe(false);
  });
});

describe('frames', () => {
  const encodings: SipEncoding[] = ['cp850', 'latin1', 'utf8'];

  it.each(encodings)(
    'round-trips a patron request with æøå in %s, checksum over the bytes sent',
    (encoding) => {
      const message = patronInformationRequest(
        'Bibliotek på Ås',
        '10000007',
        'tørr',
        '1234',
        new Date(2026, 10, 26, 9, 5, 7),
      );
      message.fields.push(['AE', 'Åse Ødegård Æbelø']);
      const frame = encodeFrame(message, { encoding, errorDetection: true, seq: 7 });
      expect(frame.at(-1)).toBe(0x0d);
      const body = frame.subarray(0, frame.length - 1);
      // The checksum covers the encoded bytes up to and including AZ.
      expect(body.subarray(-4).toString('latin1')).toBe(checksum(body.subarray(0, -4)));
      const decoded = decodeFrame(body, encoding);
      expect(decoded).toEqual({ message, seq: 7, checksumOk: true });
    },
  );

  it('encodes æøå as the site’s bytes: one byte in cp850/latin1, two in utf8', () => {
    const msg: SipMessage = { code: '64', fixed: ' '.repeat(59), fields: [['AE', 'æøå']] };
    const bytesOf = (encoding: SipEncoding) => encodeFrame(msg, { encoding, errorDetection: false });
    expect([...bytesOf('cp850').subarray(63, 66)]).toEqual([0x91, 0x9b, 0x86]);
    expect([...bytesOf('latin1').subarray(63, 66)]).toEqual([0xe6, 0xf8, 0xe5]);
    expect(bytesOf('utf8').subarray(63, 69).toString('utf8')).toBe('æøå');
    // Decoding with the wrong encoding garbles the name but never the structure.
    expect(decodeFrame(bytesOf('cp850').subarray(0, -1), 'latin1').message.fields[0]![1]).not.toBe('æøå');
  });

  it('round-trips any field values (without the separators) in every encoding', () => {
    const value = fc.string({ unit: fc.constantFrom(...'abcXYZ019 æøåÆØÅé-_.,:/'.split('')), maxLength: 30 });
    fc.assert(
      fc.property(
        fc.constantFrom(...encodings),
        fc.array(fc.tuple(fc.constantFrom('AA', 'AE', 'AF', 'PB', 'BV', 'XY'), value), { maxLength: 8 }),
        fc.integer({ min: 0, max: 9 }),
        fc.boolean(),
        (encoding, fields, seq, errorDetection) => {
          const message: SipMessage = { code: '24', fixed: ' '.repeat(14) + '000' + formatSipDate(), fields };
          const frame = encodeFrame(message, { encoding, errorDetection, seq });
          const decoded = decodeFrame(frame.subarray(0, -1), encoding);
          expect(decoded.message).toEqual(message);
          expect(decoded.seq).toBe(errorDetection ? seq : null);
          expect(decoded.checksumOk).toBe(errorDetection ? true : null);
        },
      ),
    );
  });

  it('strips separators and line ends from values so a card number cannot inject a field', () => {
    const frame = encodeFrame(patronStatusRequest('X', '123|BLY\r99', '', undefined), {
      encoding: 'cp850',
      errorDetection: false,
    });
    const text = frame.toString('latin1');
    expect(text.match(/\r/g)).toHaveLength(1);
    expect(decodeFrame(frame.subarray(0, -1), 'cp850').message.fields).toContainEqual(['AA', '123BLY99']);
  });

  it('puts AY before AZ and wraps the sequence 0–9; resend requests carry no AY', () => {
    expect(
      encodeFrame(scStatusRequest(), { encoding: 'cp850', errorDetection: true, seq: 13 }).toString('latin1'),
    ).toMatch(/^9900802\.00AY3AZ[0-9A-F]{4}\r$/);
    expect(
      encodeFrame(
        { code: '97', fixed: '', fields: [] },
        { encoding: 'cp850', errorDetection: true },
      ).toString('latin1'),
    ).toBe('97AZFEF5\r');
    expect(
      encodeFrame(
        { code: '96', fixed: '', fields: [] },
        { encoding: 'cp850', errorDetection: true, seq: 4 },
      ).toString('latin1'),
    ).toBe(`96AZ${checksumOfText('96AZ')}\r`);
    expect(
      encodeFrame(loginRequest('u', 'p', 'l'), { encoding: 'cp850', errorDetection: false }).toString(
        'latin1',
      ),
    ).toBe('9300CNu|COp|CPl|\r');
  });

  it('rejects what is not a message', () => {
    for (const text of ['', 'hello', '64short', '99', 'XX123', '941|bad field|', '94']) {
      expect(() => decodeFrame(Buffer.from(text, 'latin1'), 'cp850'), text).toThrow();
    }
  });

  it('says why a frame is not a message (the words an operator reads in the log)', () => {
    const decode = (text: string) => () => decodeFrame(Buffer.from(text, 'latin1'), 'cp850');
    expect(decode('XX12')).toThrow(/^no message code$/);
    expect(decode('12345')).toThrow('unknown message code 12');
    expect(decode('64short')).toThrow('message 64 too short');
    expect(decode('941|bad field|')).toThrow('bad field in 94');
  });

  it('keeps a pending frame of exactly maxFrame bytes; one byte more is dropped', () => {
    const splitter = new FrameSplitter(10);
    expect(splitter.push(Buffer.from('9411234567'))).toEqual([]);
    expect(splitter.push(Buffer.from('\r')).map((b) => b.toString('latin1'))).toEqual(['9411234567']);
    const over = new FrameSplitter(10);
    expect(over.push(Buffer.from('94112345678'))).toEqual([]);
    expect(over.push(Buffer.from('\r'))).toEqual([]);
  });

  it('splits on \\r, \\r\\n and stray \\n, across chunk boundaries', () => {
    const splitter = new FrameSplitter();
    const out = [
      ...splitter.push(Buffer.from('941AY0AZFDFD\r\n9')),
      ...splitter.push(Buffer.from('41AY1AZFDFC\r')),
      ...splitter.push(Buffer.from('\n\n941\n')),
      ...splitter.push(Buffer.from('94')),
    ].map((b) => b.toString('latin1'));
    expect(out).toEqual(['941AY0AZFDFD', '941AY1AZFDFC', '941']);
    expect(splitter.push(Buffer.from('0\r')).map((b) => b.toString('latin1'))).toEqual(['940']);
  });

  it('drops an endless line instead of growing without bound', () => {
    const splitter = new FrameSplitter(100);
    expect(splitter.push(Buffer.alloc(500, 0x41))).toEqual([]);
    expect(splitter.push(Buffer.from('941\r')).map((b) => b.toString('latin1'))).toEqual(['941']);
  });
});

describe('messages and fields', () => {
  it('formats dates as YYYYMMDDZZZZHHMMSS with four spaces for local time', () => {
    expect(formatSipDate(new Date(2026, 0, 2, 3, 4, 5))).toBe('20260102    030405');
    expect(patronInformationRequest('I', 'C', '', undefined, new Date(2026, 0, 2, 3, 4, 5)).fixed).toBe(
      `00020260102    030405${' '.repeat(10)}`,
    );
  });

  it('reads the date forms vendors send', () => {
    expect(parseSipDay('20991231')).toEqual({ year: 2099, month: 12, day: 31 });
    expect(parseSipDay('20160101    000000')).toEqual({ year: 2016, month: 1, day: 1 });
    expect(parseSipDay('1985-03-14')).toEqual({ year: 1985, month: 3, day: 14 });
    expect(parseSipDay(' 20991231')).toEqual({ year: 2099, month: 12, day: 31 });
    expect(parseSipDay('18500101')).toEqual({ year: 1850, month: 1, day: 1 });
    for (const bad of ['', 'unknown', '2016', '20161301', '00000000', undefined])
      expect(parseSipDay(bad)).toBeNull();
    // Each limit on its own: month 0, day 0, day 32, before 1850, text before the date.
    for (const bad of ['20260015', '20260100', '20260132', '18491231', 'x20991231'])
      expect(parseSipDay(bad), bad).toBeNull();
  });

  it('parses 98: retries allowed and timeout, with 999 meaning unknown', () => {
    const date = '20261126    092122';
    expect(parseAcsStatus({ code: '98', fixed: `YYYYNY030003${date}2.00`, fields: [['AO', 'X']] })).toEqual({
      online: true,
      timeoutSeconds: 3,
      retriesAllowed: 3,
      protocolVersion: '2.00',
      institution: 'X',
    });
    expect(parseAcsStatus({ code: '98', fixed: `NYYYNY999999${date}2.00`, fields: [] })).toMatchObject({
      online: false,
      timeoutSeconds: null,
      retriesAllowed: null,
    });
  });

  it('redacts login password, terminal password and PIN for display', () => {
    expect(redactSip('9300CNdoor|COs3cret|CPmain|AY0AZF66B')).toBe(
      '9300CNdoor|CO[redacted]|CPmain|AY0AZF66B',
    );
    expect(redactSip('63000x          AODEMO|AA10000001|ACterm|AD1234|AY2AZF1A0')).toBe(
      '63000x          AODEMO|AA10000001|AC[redacted]|AD[redacted]|AY2AZF1A0',
    );
    expect(redactSip('63000AODEMO|AA1|AC|AD|')).toBe('63000AODEMO|AA1|AC|AD|');
    // A server's frame may end without the last '|' and without a trailer.
    expect(redactSip('9300CNdoor|COs3cret')).toBe('9300CNdoor|CO[redacted]');
  });
});

describe('the error-detection trailer: only AY<digit>AZ<four hex digits> is one', () => {
  const framed = (body: string) => Buffer.from(`${body}${checksumOfText(body)}`, 'latin1');
  const plain = (code: string, fixed: string, fields: Array<[string, string]>) => ({
    message: { code, fixed, fields },
    seq: null,
    checksumOk: null,
  });

  it('reads the checksum digits in either case', () => {
    expect(checksumOfText('941AY3AZ')).toBe('FDFA');
    expect(decodeFrame(Buffer.from('941AY3AZfdfa', 'latin1'), 'cp850')).toMatchObject({
      seq: 3,
      checksumOk: true,
    });
  });

  it('leaves AZ and four characters that are not all hex digits in the last field', () => {
    // Each character just outside a hex range: / : @ G ` g
    for (const c of ['/', ':', '@', 'G', '`', 'g']) {
      expect(decodeFrame(Buffer.from(`941AY0AZFDF${c}`, 'latin1'), 'cp850'), c).toEqual(
        plain('94', '1', [['AY', `0AZFDF${c}`]]),
      );
    }
  });

  it('needs both letters of AZ before the checksum', () => {
    expect(decodeFrame(Buffer.from('941XZFDFD', 'latin1'), 'cp850')).toEqual(
      plain('94', '1', [['XZ', 'FDFD']]),
    );
    expect(decodeFrame(Buffer.from('941AXFDFD', 'latin1'), 'cp850')).toEqual(
      plain('94', '1', [['AX', 'FDFD']]),
    );
  });

  it('reads a sequence number only from AY and one digit right before AZ', () => {
    const decode = (body: string) => decodeFrame(framed(body), 'cp850');
    expect(decode('941AY7AZ')).toEqual({
      message: { code: '94', fixed: '1', fields: [] },
      seq: 7,
      checksumOk: true,
    });
    // AZ alone (no AY): nothing before it is a sequence number.
    expect(decode('941AZ')).toEqual({
      message: { code: '94', fixed: '1', fields: [] },
      seq: null,
      checksumOk: true,
    });
    // A last field that merely ends in a digit, with only one of the two letters of AY.
    expect(decode('94YXY1AZ')).toEqual({
      message: { code: '94', fixed: 'Y', fields: [['XY', '1']] },
      seq: null,
      checksumOk: true,
    });
    expect(decode('94YAB1AZ')).toEqual({
      message: { code: '94', fixed: 'Y', fields: [['AB', '1']] },
      seq: null,
      checksumOk: true,
    });
    // AY and a character just outside the digits.
    for (const c of ['/', ':']) {
      expect(decode(`94YAY${c}AZ`), c).toEqual({
        message: { code: '94', fixed: 'Y', fields: [['AY', c]] },
        seq: null,
        checksumOk: true,
      });
    }
  });
});

describe('decoding hostile input', () => {
  it('random bytes either decode or throw SipDecodeError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom<SipEncoding>('cp850', 'latin1', 'utf8'),
        (bytes, enc) => {
          try {
            decodeFrame(bytes, enc);
          } catch (error) {
            expect(error).toBeInstanceOf(SipDecodeError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
