/** `mqtt.tls` for `mqtts://` URLs, shared by the controller and the recorder agent. */
import { readFileSync } from 'node:fs';

/** TLS for `mqtts://`: files, read at start. */
export interface MqttTlsConfig {
  ca_file?: string | undefined;
  cert_file?: string | undefined;
  key_file?: string | undefined;
  reject_unauthorized: boolean;
}

export interface MqttTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/** Reads the TLS files named in `mqtt.tls` (at start: a missing file stops the start with its name). */
export function mqttTls(tls: MqttTlsConfig | undefined): MqttTlsOptions | undefined {
  if (!tls) return undefined;
  const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
  const ca = read(tls.ca_file);
  const cert = read(tls.cert_file);
  const key = read(tls.key_file);
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: tls.reject_unauthorized,
  };
}
