import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys that may carry identity or secrets; pino replaces them wherever they appear. */
export const REDACT_PATHS = [
  'card',
  'pin',
  'password',
  'secret',
  '*.card',
  '*.pin',
  '*.password',
  '*.secret',
  '*.name',
  'patronName',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { svc: 'dorvakt' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination ?? pino.destination(1),
  );
}
