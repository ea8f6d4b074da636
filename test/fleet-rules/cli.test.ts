/** The centre's tools: keygen, sign (YAML in, signed JSON out) and publish (retained, QoS 1) to a real Mosquitto. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { runFleetRulesCommand } from '../../src/fleet-rules/cli.ts';
import { publicKeyOf, verifyRules } from '../../src/fleet-rules/sign.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('dorvakt fleet rules keygen|sign|publish', () => {
  const dir = tempDir('fleet-cli-');
  let broker: Broker | undefined;
  afterAll(async () => {
    await broker?.stop();
    dir.cleanup();
  });
  const at = (name: string) => join(dir.path, name);
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };

  it('signs a YAML document with a new key pair and publishes it retained; a branch key verifies it', async () => {
    expect(
      await runFleetRulesCommand(['keygen', '--private', at('rules.key'), '--public', at('rules.pub')], io),
    ).toBe(0);
    writeFileSync(
      at('rules.yaml'),
      `version: 4
issued_at: "2026-11-30T08:00:00.000Z"
blocks:
  - { card_hash: ${'d'.repeat(64)}, note: card reported stolen, expires_at: "2027-01-01T00:00:00.000Z" }
passes: []
exceptions:
  - { date: "2026-12-27", closed: true, note: staff day }
`,
    );
    // Through the real command line, as the centre's operator runs it.
    const signed = spawnSync(
      process.execPath,
      [
        'bin/dorvakt.mjs',
        'fleet',
        'rules',
        'sign',
        '--key',
        at('rules.key'),
        '--in',
        at('rules.yaml'),
        '--out',
        at('signed.json'),
      ],
      { encoding: 'utf8' },
    );
    expect(signed.status, signed.stderr).toBe(0);
    const publicKey = publicKeyOf(readFileSync(at('rules.pub')));
    const checked = verifyRules(readFileSync(at('signed.json')), publicKey);
    expect(checked.ok && checked.rules.version).toBe(4);

    broker = await startMosquitto();
    const args = ['publish', '--url', broker.url, '--in', at('signed.json'), '--public', at('rules.pub')];
    expect(await runFleetRulesCommand(args, io)).toBe(0);
    const branch = await connectAsync(broker.url);
    const got: Buffer[] = [];
    branch.on('message', (_t, payload, packet) => packet.retain && got.push(payload));
    await branch.subscribeAsync('dorvakt/fleet/rules', { qos: 1 });
    await waitFor(() => got.length === 1, 10_000, 'the retained document');
    expect(verifyRules(got[0]!, publicKey).ok).toBe(true);
    await branch.endAsync();
  });

  it('refuses to sign a document the branches would refuse, and to publish one signed by another key', async () => {
    writeFileSync(
      at('bad.yaml'),
      'version: 5\nissued_at: "2026-11-30T08:00:00.000Z"\nblocks: [{ card_hash: "12345678", note: x, expires_at: "2027-01-01T00:00:00.000Z" }]\npasses: []\nexceptions: []\n',
    );
    expect(
      await runFleetRulesCommand(
        ['sign', '--key', at('rules.key'), '--in', at('bad.yaml'), '--out', at('bad.json')],
        io,
      ),
    ).toBe(1);
    expect(
      await runFleetRulesCommand(['keygen', '--private', at('other.key'), '--public', at('other.pub')], io),
    ).toBe(0);
    expect(
      await runFleetRulesCommand(
        ['sign', '--key', at('other.key'), '--in', at('rules.yaml'), '--out', at('other.json')],
        io,
      ),
    ).toBe(0);
    const args = ['publish', '--url', broker!.url, '--in', at('other.json'), '--public', at('rules.pub')];
    expect(await runFleetRulesCommand(args, io)).toBe(1);
    expect(lines.at(-1)).toMatch(/bad_signature/);
  });
});

describe('check-config and the fleet key', () => {
  const dir = tempDir('fleet-check-');
  afterAll(() => dir.cleanup());

  it('names a missing or wrong public key file, and passes a real one', async () => {
    const { checkFleetRulesKey } = await import('../../src/fleet-rules/check.ts');
    writeFileSync(join(dir.path, 'not-a-key.pem'), 'hello');
    expect(checkFleetRulesKey({ rules_public_key_file: 'missing.pub', rules_topic: 't' }, dir.path)).toEqual([
      { key: 'rules_public_key_file', message: 'cannot read it (ENOENT)' },
    ]);
    expect(
      checkFleetRulesKey({ rules_public_key_file: 'not-a-key.pem', rules_topic: 't' }, dir.path),
    ).toHaveLength(1);
    const io = { out: () => undefined, err: () => undefined };
    await runFleetRulesCommand(
      ['keygen', '--private', join(dir.path, 'k'), '--public', join(dir.path, 'k.pub')],
      io,
    );
    expect(checkFleetRulesKey({ rules_public_key_file: 'k.pub', rules_topic: 't' }, dir.path)).toEqual([]);
    // The private key is not what a branch should hold.
    expect(checkFleetRulesKey({ rules_public_key_file: 'k', rules_topic: 't' }, dir.path)).toHaveLength(1);
    expect(checkFleetRulesKey({ rules_topic: 't' }, dir.path)).toEqual([]);
  });
});
