/**
 * One patron lookup on a connection of its own, opened and closed around it: for the desk's card check,
 * which must never take a pooled connection from a swipe, open the breaker or fill the cache.
 */
import type { PatronLookup } from '../contract/patron.ts';
import type { IlsConfig } from './config.ts';
import { type ConnectionOptions, Sip2Connection } from './connection.ts';
import {
  endSessionRequest,
  parsePatronReply,
  patronInformationRequest,
  patronStatusRequest,
} from './messages.ts';
import { standingFromPatronInfo } from './standing.ts';

export interface OneShotOptions {
  config: IlsConfig;
  /** Connection details with secrets already read. */
  connection: ConnectionOptions;
  terminalPassword: string;
  /** Connect and each request are cut to this; the desk would rather hear "not reachable" soon. */
  timeoutMs: number;
}

export async function lookupOnce(options: OneShotOptions, card: string, pin?: string): Promise<PatronLookup> {
  const { config, terminalPassword } = options;
  const timeout = Math.min(options.timeoutMs, config.connect_timeout_ms, config.request_timeout_ms);
  let connection: Sip2Connection | undefined;
  try {
    connection = await Sip2Connection.open({
      ...options.connection,
      connectTimeoutMs: timeout,
      requestTimeoutMs: timeout,
    });
    const request =
      config.message === 23
        ? patronStatusRequest(config.institution, card, terminalPassword, pin)
        : patronInformationRequest(config.institution, card, terminalPassword, pin);
    const reply = parsePatronReply(await connection.request(request));
    if (config.end_session)
      await connection.request(endSessionRequest(config.institution, card, terminalPassword));
    const echoed = reply.card?.trim();
    if (echoed && echoed !== card.trim())
      return { status: 'unavailable', error: 'the reply was for another card' };
    return {
      status: 'ok',
      standing: standingFromPatronInfo(reply, config, pin !== undefined),
      source: 'live',
    };
  } catch (error) {
    return { status: 'unavailable', error: (error as Error).message };
  } finally {
    connection?.close();
  }
}
