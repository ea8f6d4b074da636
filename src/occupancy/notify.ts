/**
 * Tells on-call staff: `<base>/oncall` on MQTT and/or a webhook (POST JSON, for an SMS or chat gateway). Fire
 * and forget: each send has a timeout and retries with doubling waits; one that fails for good raises
 * `oncall_failed` (scope `oncall:<channel>`) and nothing else waits for it.
 */
import type { MqttClient } from 'mqtt';
import type { Alarms } from '../alarms/alarms.ts';
import type { OnCallPayload } from '../contract/occupancy.ts';
import type { Logger } from '../log/logger.ts';
import type { WebhookConfig } from './config.ts';

export interface OnCallNotifierOptions {
  topic?: string | undefined;
  mqtt?: MqttClient | undefined;
  webhook?: (WebhookConfig & { bearer?: string | undefined }) | undefined;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
}

export const WEBHOOK_SCOPE = 'oncall:webhook';
export const ONCALL_MQTT_SCOPE = 'oncall:mqtt';

export class OnCallNotifier {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<AbortController>();

  constructor(private readonly options: OnCallNotifierOptions) {}

  /** Sends on every configured channel; resolves when each has succeeded or given up (never rejects). */
  notify(payload: OnCallPayload): Promise<void> {
    const body = JSON.stringify(payload);
    return Promise.all([this.publish(body), this.post(body)]).then(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.inflight) controller.abort();
  }

  private publish(body: string): Promise<void> {
    const { mqtt, topic, alarms, log } = this.options;
    if (!mqtt || !topic) return Promise.resolve();
    return new Promise((resolve) => {
      // Not retained: a gateway that reconnects must not page anyone for an old closing.
      mqtt.publish(topic, body, { qos: 1, retain: false }, (error) => {
        if (error) {
          log.error({ err: error.message }, 'on-call notice not published');
          alarms.raise('oncall_failed', ONCALL_MQTT_SCOPE, error.message.slice(0, 300));
        } else alarms.clear('oncall_failed', ONCALL_MQTT_SCOPE);
        resolve();
      });
    });
  }

  private async post(body: string): Promise<void> {
    const hook = this.options.webhook;
    if (!hook) return;
    const { alarms, log } = this.options;
    let lastError = '';
    for (let attempt = 0; attempt <= hook.retries && !this.stopped; attempt++) {
      if (attempt > 0) await this.wait(hook.retry_ms * 2 ** (attempt - 1));
      if (this.stopped) return;
      const controller = new AbortController();
      this.inflight.add(controller);
      const timer = setTimeout(() => controller.abort(), hook.timeout_ms);
      try {
        const response = await fetch(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(hook.bearer ? { authorization: `Bearer ${hook.bearer}` } : {}),
          },
          body,
          signal: controller.signal,
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          alarms.clear('oncall_failed', WEBHOOK_SCOPE);
          return;
        }
        lastError = `HTTP ${response.status}`;
      } catch (error) {
        lastError = controller.signal.aborted
          ? `no answer in ${hook.timeout_ms} ms`
          : (error as Error).message;
      } finally {
        clearTimeout(timer);
        this.inflight.delete(controller);
      }
      log.warn({ attempt: attempt + 1, err: lastError }, 'on-call webhook failed');
    }
    if (this.stopped) return;
    log.error({ err: lastError }, 'on-call webhook gave up');
    alarms.raise('oncall_failed', WEBHOOK_SCOPE, `webhook: ${lastError}`.slice(0, 300));
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.timers.add(timer);
    });
  }
}
