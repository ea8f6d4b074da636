import type { DorvaktEvent } from '../contract/events.ts';

export type EventListener = (event: DorvaktEvent) => void;
export type ListenerErrorHandler = (error: unknown, event: DorvaktEvent) => void;

/**
 * One place every event passes through; MQTT, the log and the dashboard subscribe. Each listener is
 * guarded: one that throws is reported and the others still run, and the publisher (a swipe that has
 * already pulsed the relay) never sees the throw.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>();
  /** Listener throws since start (the ops endpoint and tests read it). */
  listenerErrors = 0;

  constructor(private onListenerError: ListenerErrorHandler = () => undefined) {}

  /** Where listener throws are reported (the app sets its logger once it has one). */
  reportErrorsTo(handler: ListenerErrorHandler): void {
    this.onListenerError = handler;
  }

  publish(event: DorvaktEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.listenerErrors++;
        try {
          this.onListenerError(error, event);
        } catch {
          // A broken reporter must not break the publisher either.
        }
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    // A function object per subscription, so the same listener subscribed twice runs twice, as before.
    const wrapped: EventListener = (event) => listener(event);
    this.listeners.add(wrapped);
    return () => {
      this.listeners.delete(wrapped);
    };
  }
}

export const nowIso = (): string => new Date().toISOString();
