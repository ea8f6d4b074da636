/**
 * The fleet's rules in the worker process: the public key, the stored document checked again, then the
 * retained topic on the worker's own connection to the local broker. Nothing here is on the door's path: the
 * door process reads the blocks, passes and checked exceptions from the store (docs/fleet-rules.md).
 */
import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectWarningOncePerOutage } from '../events/mqtt-connect.ts';
import type { Alarms } from '../alarms/alarms.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import { FleetRulesReceiver } from './receiver.ts';
import type { RejectWhy } from './sign.ts';
import { publicKeyOf } from './sign.ts';

export interface FleetRulesLinkOptions {
  db: Db;
  site: string;
  publicKeyFile: string;
  topic?: string | undefined;
  mqttUrl: string;
  mqttOptions?: IClientOptions;
  alarms: Pick<Alarms, 'raise' | 'clear'>;
  log: Logger;
  onRejected: (why: RejectWhy) => void;
  onChanged: (version: number) => void;
  transactionBudgetMs?: number | undefined;
}

export class FleetRulesLink {
  private client: MqttClient | undefined;

  private constructor(
    readonly receiver: FleetRulesReceiver,
    private readonly options: FleetRulesLinkOptions,
  ) {}

  /** Reads the key (throws on an unusable one: a config error, not retried). */
  static create(options: FleetRulesLinkOptions): FleetRulesLink {
    const publicKey = publicKeyOf(readFileSync(options.publicKeyFile));
    const receiver = new FleetRulesReceiver({
      db: options.db,
      site: options.site,
      publicKey,
      alarms: options.alarms,
      log: options.log,
      topic: options.topic,
      onRejected: options.onRejected,
      onChanged: options.onChanged,
      transactionBudgetMs: options.transactionBudgetMs,
    });
    return new FleetRulesLink(receiver, options);
  }

  /** Checks the stored document, then takes the topic (retrying the broker by itself). */
  async start(): Promise<void> {
    await this.receiver.checkStored();
    const client = connectWarningOncePerOutage(
      this.options.mqttUrl,
      {
        clientId: `dorvakt-rules-${this.options.site}-${process.pid}`.slice(0, 64),
        ...this.options.mqttOptions,
      },
      this.options.log,
      'fleet rules link',
    );
    this.client = client;
    this.receiver.start(client);
  }

  async stop(): Promise<void> {
    this.receiver.stop();
    await this.client?.endAsync();
    this.client = undefined;
  }
}
