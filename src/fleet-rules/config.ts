/** Config section `fleet`, the branch's side of the fleet's rules (docs/fleet-rules.md). */
export interface FleetRulesConfig {
  /** The fleet's Ed25519 public key (PEM); without it the branch takes no rules from the fleet. */
  rules_public_key_file?: string | undefined;
  /** Where the signed rules document is retained. */
  rules_topic: string;
}

/** The keys of the `fleet` section owned by src/fleet-rules (config/schema.ts composes the section). */
export const fleetRulesProperties = {
  rules_public_key_file: {
    type: 'string',
    minLength: 1,
    description:
      "The fleet's Ed25519 public key (PEM) that signs the rules on rules_topic; unset: no fleet rules.",
  },
  rules_topic: { type: 'string', pattern: '^[^#+]+$', default: 'dorvakt/fleet/rules' },
} as const;
