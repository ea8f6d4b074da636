/**
 * Signing and checking the fleet's rules document with Ed25519 (node:crypto). The centre signs with the
 * fleet's private key; every branch holds the public key (`fleet.rules_public_key_file`).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { checkRules, type FleetRules, parseEnvelope, type SignedRules } from './document.ts';

/** Why a received document was refused (the `why` label of `dorvakt_fleet_rules_rejected_total`). */
export type RejectWhy = 'malformed' | 'unsigned' | 'bad_signature' | 'invalid' | 'stale';

export type VerifyResult =
  | { ok: true; rules: FleetRules; signed: SignedRules }
  | { ok: false; why: Exclude<RejectWhy, 'stale'>; error?: string };

function privateKeyOf(key: KeyObject | string | Buffer): KeyObject {
  const object = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  if (object.type !== 'private' || object.asymmetricKeyType !== 'ed25519')
    throw new Error('the fleet rules key must be an Ed25519 private key (PEM)');
  return object;
}

export function publicKeyOf(key: KeyObject | string | Buffer): KeyObject {
  // createPublicKey would derive the public half from a private key: a branch must never hold that.
  if ((typeof key === 'string' || Buffer.isBuffer(key)) && key.toString().includes('PRIVATE KEY'))
    throw new Error('this is a private key: give the branches the public key only');
  const object = typeof key === 'string' || Buffer.isBuffer(key) ? createPublicKey(key) : key;
  if (object.type !== 'public' || object.asymmetricKeyType !== 'ed25519')
    throw new Error('the fleet rules public key must be an Ed25519 public key (PEM)');
  return object;
}

/**
 * Signs a rules document for publishing on `dorvakt/fleet/rules` (retained, QoS 1). Throws on a document the
 * branches would refuse, so the centre never publishes one.
 */
export function signRules(doc: FleetRules, privateKey: KeyObject | string | Buffer): SignedRules {
  const checked = checkRules(doc);
  if (!checked.ok) throw new Error(`fleet rules: ${checked.error}`);
  const rules = JSON.stringify(doc);
  const signature = sign(null, Buffer.from(rules, 'utf8'), privateKeyOf(privateKey)).toString('base64');
  return { v: 1, rules, signature };
}

/** Checks a received payload: the envelope, then the signature, and only then the document inside it. */
export function verifyRules(payload: Buffer | string, publicKey: KeyObject): VerifyResult {
  const envelope = parseEnvelope(payload);
  if (!envelope.ok) return { ok: false, why: envelope.why };
  const { signed } = envelope;
  const bytes = Buffer.from(signed.rules, 'utf8');
  let good = false;
  try {
    good = verify(null, bytes, publicKey, Buffer.from(signed.signature, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, why: 'bad_signature' };
  let value: unknown;
  try {
    value = JSON.parse(signed.rules);
  } catch {
    return { ok: false, why: 'invalid', error: 'the signed rules are not JSON' };
  }
  const checked = checkRules(value);
  if (!checked.ok) return { ok: false, why: 'invalid', error: checked.error };
  return { ok: true, rules: checked.rules, signed };
}
