/**
 * `dorvakt fleet rules keygen|sign|publish` (docs/fleet-rules.md): the centre's tools for the signed rules
 * document. The private key never leaves the machine that signs; branches get the public key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { FleetRules } from './document.ts';
import { FLEET_RULES_TOPIC } from './receiver.ts';
import { signRules, publicKeyOf, verifyRules } from './sign.ts';

export interface FleetRulesCliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const FLEET_RULES_USAGE = `usage:
  dorvakt fleet rules keygen --private FILE --public FILE     a new fleet key pair (Ed25519, PEM)
  dorvakt fleet rules sign --key FILE --in rules.yaml --out signed.json
                                   check and sign a rules document (YAML or JSON)
  dorvakt fleet rules publish --url mqtt://… --in signed.json [--public FILE] [--topic T]
                                   [--username U --password-file F]   publish it retained (QoS 1)
`;

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function runFleetRulesCommand(argv: string[], io: FleetRulesCliIo): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'keygen') {
    const privateFile = option(rest, '--private');
    const publicFile = option(rest, '--public');
    if (!privateFile || !publicFile) return usage(io);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
      flag: 'wx',
    });
    writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' });
    io.out(
      `private key: ${privateFile} (keep it at the centre only); public key: ${publicFile} (every branch)`,
    );
    return 0;
  }
  if (verb === 'sign') {
    const key = option(rest, '--key');
    const input = option(rest, '--in');
    const output = option(rest, '--out');
    if (!key || !input || !output) return usage(io);
    const doc = parseYaml(readFileSync(input, 'utf8')) as FleetRules;
    let signed: ReturnType<typeof signRules>;
    try {
      signed = signRules(doc, readFileSync(key));
    } catch (error) {
      io.err(`dorvakt: ${(error as Error).message}`);
      return 1;
    }
    writeFileSync(output, `${JSON.stringify(signed)}\n`);
    io.out(
      `signed version ${doc.version}: ${doc.blocks.length} blocks, ${doc.passes.length} passes, ${doc.exceptions.length} exceptions → ${output}`,
    );
    return 0;
  }
  if (verb === 'publish') {
    const url = option(rest, '--url');
    const input = option(rest, '--in');
    if (!url || !input) return usage(io);
    const payload = readFileSync(input, 'utf8').trim();
    const publicFile = option(rest, '--public');
    if (publicFile) {
      // What every branch will check, checked here first.
      const checked = verifyRules(payload, publicKeyOf(readFileSync(publicFile)));
      if (!checked.ok) {
        io.err(
          `dorvakt: ${input} would be refused by the branches: ${checked.why}${checked.error ? `: ${checked.error}` : ''}`,
        );
        return 1;
      }
    }
    const passwordFile = option(rest, '--password-file');
    const { connectAsync } = await import('mqtt');
    const client = await connectAsync(url, {
      clean: true,
      connectTimeout: 10_000,
      reconnectPeriod: 0,
      ...(option(rest, '--username') ? { username: option(rest, '--username') } : {}),
      ...(passwordFile ? { password: readFileSync(passwordFile, 'utf8').trim() } : {}),
    });
    try {
      await client.publishAsync(option(rest, '--topic') ?? FLEET_RULES_TOPIC, payload, {
        qos: 1,
        retain: true,
      });
    } finally {
      await client.endAsync();
    }
    io.out(`published ${input} retained on ${option(rest, '--topic') ?? FLEET_RULES_TOPIC}`);
    return 0;
  }
  return usage(io);
}

function usage(io: FleetRulesCliIo): number {
  io.err(FLEET_RULES_USAGE);
  return 2;
}
