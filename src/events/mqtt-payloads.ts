import type { DorvaktEvent } from '../contract/events.ts';
import { ALARM_DETAIL_MAX, CONTRACT_VERSION, type WireEvent } from '../contract/mqtt.ts';

/**
 * An internal bus event as the v2 `<base>/event` payload. Fields are picked one by one, so nothing the
 * contract does not name (an entry's category or row id) can reach the wire.
 */
export function toWireEvent(event: DorvaktEvent): WireEvent {
  const v = CONTRACT_VERSION;
  switch (event.type) {
    case 'entry':
      return {
        v,
        type: 'entry',
        door: event.door,
        outcome: event.outcome,
        reason: event.reason,
        mode: event.mode,
        ts: event.ts,
      } as WireEvent;
    case 'alarm':
      return {
        v,
        type: 'alarm',
        alarm: event.alarm,
        state: event.state,
        scope: event.door || null,
        detail: event.detail ? event.detail.slice(0, ALARM_DETAIL_MAX) : null,
        ts: event.ts,
      };
    case 'door':
      return {
        v,
        type: 'door',
        door: event.door,
        locked: event.locked,
        open: event.open,
        held: event.held,
        fire: event.fire,
        mode: event.mode,
        ts: event.ts,
      };
    case 'mode':
      return {
        v,
        type: 'mode',
        door: event.door,
        mode: event.mode,
        next: event.next ? { mode: event.next.mode, at: event.next.at } : null,
        ts: event.ts,
      };
    case 'closing_soon':
      return {
        v,
        type: 'closing_soon',
        door: event.door,
        minutes: event.minutes,
        at: event.at,
        ts: event.ts,
      };
    case 'manual_unlock':
      return {
        v,
        type: 'manual_unlock',
        door: event.door,
        minutes: event.minutes,
        until: event.until,
        ts: event.ts,
      };
    case 'reader_rejected':
      return { v, type: 'reader_rejected', door: event.reader, why: event.why, ts: event.ts };
    case 'emergency':
      return {
        v,
        type: 'emergency',
        state: event.state,
        mode: event.mode,
        until: event.until,
        ended: event.ended,
        ts: event.ts,
      };
    case 'state':
      return {
        v,
        type: 'state',
        state: event.state,
        previous: event.previous,
        emergency: event.emergency,
        next: event.next ? { state: event.next.state, at: event.next.at } : null,
        ts: event.ts,
      };
    case 'output':
      return {
        v,
        type: 'output',
        output: event.output,
        value: event.value,
        state: event.state,
        ts: event.ts,
      };
    case 'announcement':
      return {
        v,
        type: 'announcement',
        minutes: event.minutes,
        at: event.at,
        languages: [...event.languages],
        ts: event.ts,
      };
    case 'occupancy':
      return {
        v,
        type: 'occupancy',
        door: event.door,
        direction: event.direction,
        inside: event.inside,
        ts: event.ts,
      };
  }
}
