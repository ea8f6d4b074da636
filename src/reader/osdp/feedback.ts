/** Which LED, buzzer and text commands tell the patron at the reader what the door decided. */
import { type Decision, PATRON_MESSAGES } from '../../contract/reasons.ts';
import type { FeedbackClass, OsdpConfig } from './config.ts';
import { buzzerCommand, ledCommand, textCommand } from './messages.ts';
import { CMD } from './protocol.ts';

export type Language = 'nb' | 'da' | 'en';

/** Grant; the library system (or the store) could not answer; every other denial. */
export function feedbackClass(decision: Decision): FeedbackClass {
  if (decision.allow) return 'granted';
  return decision.reason === 'ils_unavailable' || decision.reason === 'store_unavailable'
    ? 'unavailable'
    : 'denied';
}

export interface ReaderCommand {
  code: number;
  data: Uint8Array;
}

export function feedbackCommands(
  decision: Decision,
  config: Pick<OsdpConfig, 'feedback' | 'text' | 'text_seconds'>,
  language: Language,
  hasDisplay: boolean,
): ReaderCommand[] {
  const pattern = config.feedback[feedbackClass(decision)];
  const commands: ReaderCommand[] = [
    { code: CMD.LED, data: ledCommand(pattern.led) },
    { code: CMD.BUZ, data: buzzerCommand(pattern.buzzer) },
  ];
  if (config.text === 'on' || (config.text === 'auto' && hasDisplay))
    commands.push({
      code: CMD.TEXT,
      data: textCommand(PATRON_MESSAGES[decision.reason][language], config.text_seconds),
    });
  return commands;
}
