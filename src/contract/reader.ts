/**
 * Why a reader frame was dropped: the reader's own codes (src/reader/frames.ts), also `why` of a
 * `reader_rejected` event on MQTT. Never rename one, only add (and add it to the reader too).
 */
export const READER_REJECT_REASONS = [
  'bad_frame',
  'bad_checksum',
  'bad_length',
  'non_hex',
  'garbage',
  'overflow',
  'non_printable',
  'pattern_mismatch',
  'pin_timeout',
  'bad_pin',
  'pin_without_card',
  'incomplete',
  'stale_partial',
  'insecure',
] as const;
export type ReaderRejectReason = (typeof READER_REJECT_REASONS)[number];
