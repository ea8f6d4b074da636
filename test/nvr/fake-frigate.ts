import { connectAsync, type MqttClient } from 'mqtt';

/**
 * Frigate's MQTT side for the recordings toggle, as frigate/comms/mqtt.py and dispatcher.py do it:
 * subscribes `<prefix>/#`; on connect publishes every camera's `recordings/state` from its config
 * (retained) and then `available` `online` (retained; the will is `offline`); a `recordings/set` ON is
 * refused when recording is off in the config; otherwise the state echoes the payload, retained.
 * A restart forgets the toggle (≤ 0.17) unless `persist` (0.18's runtime state).
 */
export interface FakeFrigateOptions {
  url: string;
  prefix: string;
  cameras: string[];
  /** `record.enabled` in Frigate's config (default true). */
  enabledInConfig?: boolean;
  /** 0.18: the toggle survives a restart. */
  persist?: boolean;
}

export class FakeFrigate {
  client: MqttClient | undefined;
  /** Ignore every command (a stuck or misconfigured Frigate). */
  ignoring = false;
  /** The recording toggle per camera, as Frigate holds it in memory. */
  readonly recording = new Map<string, boolean>();
  /** Every `recordings/set` received, in order. */
  readonly commands: { camera: string; payload: string }[] = [];
  private readonly enabledInConfig: boolean;

  constructor(private readonly options: FakeFrigateOptions) {
    this.enabledInConfig = options.enabledInConfig ?? true;
    this.reset();
  }

  private reset(): void {
    for (const camera of this.options.cameras) this.recording.set(camera, this.enabledInConfig);
  }

  async start(): Promise<void> {
    const { prefix, url } = this.options;
    const client = await connectAsync(url, {
      protocolVersion: 4,
      reconnectPeriod: 100,
      will: { topic: `${prefix}/available`, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    client.on('error', () => undefined);
    this.client = client;
    client.on('message', (topic, payload) => this.receive(topic, payload.toString()));
    const initial = async () => {
      await client.subscribeAsync(`${prefix}/#`, { qos: 0 });
      for (const camera of this.options.cameras) {
        // Newest mqtt.py publishes the config value here, not the runtime toggle.
        await client.publishAsync(
          `${prefix}/${camera}/recordings/state`,
          this.enabledInConfig ? 'ON' : 'OFF',
          { retain: true },
        );
      }
      if (this.options.persist)
        for (const camera of this.options.cameras)
          this.applyRecording(camera, this.recording.get(camera) ? 'ON' : 'OFF');
      await client.publishAsync(`${prefix}/available`, 'online', { retain: true });
    };
    client.on('connect', () => void initial().catch(() => undefined));
    await initial();
  }

  /** Frigate stops (publishing `offline`) and starts again; ≤ 0.17 forgets the toggle. */
  async restart(): Promise<void> {
    await this.stop();
    if (!this.options.persist) this.reset();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    if (client.connected)
      await client.publishAsync(`${this.options.prefix}/available`, 'offline', { retain: true, qos: 1 });
    await client.endAsync();
  }

  /** Clears what this fake left retained on the broker. */
  async clearRetained(url: string): Promise<void> {
    const client = await connectAsync(url, { protocolVersion: 4 });
    await client.publishAsync(`${this.options.prefix}/available`, '', { retain: true });
    for (const camera of this.options.cameras)
      await client.publishAsync(`${this.options.prefix}/${camera}/recordings/state`, '', { retain: true });
    await client.endAsync();
  }

  private receive(topic: string, payload: string): void {
    const parts = topic.slice(this.options.prefix.length + 1).split('/');
    if (parts.length !== 3 || parts[1] !== 'recordings' || parts[2] !== 'set') return;
    const camera = parts[0] as string;
    if (!this.options.cameras.includes(camera)) return;
    this.commands.push({ camera, payload });
    if (this.ignoring) return;
    this.applyRecording(camera, payload);
  }

  private applyRecording(camera: string, payload: string): void {
    if (payload === 'ON') {
      if (!this.enabledInConfig) return; // "Recordings must be enabled in the config to be turned on via MQTT."
      this.recording.set(camera, true);
    } else if (payload === 'OFF') this.recording.set(camera, false);
    this.client?.publish(`${this.options.prefix}/${camera}/recordings/state`, payload, { retain: true });
  }
}
