import { EventEmitter } from 'node:events';
import type { DorvaktEvent } from '../contract/events.ts';

/** One place every event passes through; MQTT, the log and the dashboard subscribe. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Each SSE client subscribes; a busy dashboard is not a leak.
    this.emitter.setMaxListeners(200);
  }

  publish(event: DorvaktEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: DorvaktEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}

export const nowIso = (): string => new Date().toISOString();
