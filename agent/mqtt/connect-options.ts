// MQTT.js connection options shared by the agent's link and the CLI tools.
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';

export interface MqttTlsOptions {
  /** Paths to PEM files. */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

export interface BrokerOptions {
  url: string;
  username?: string;
  password?: string;
  tls?: MqttTlsOptions;
}

/** URL with any password removed, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** Credentials and TLS material as MQTT.js wants them; PEM files read now, errors name `<label>.<field>`. */
export function brokerClientOptions(o: BrokerOptions, label = 'mqtt.tls'): IClientOptions {
  const out: IClientOptions = { username: o.username, password: o.password };
  if (o.tls) {
    const pem = (field: string, path: string | undefined): Buffer | undefined => {
      if (!path) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        throw new Error(`${label}.${field}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    };
    out.ca = pem('ca', o.tls.ca);
    out.cert = pem('cert', o.tls.cert);
    out.key = pem('key', o.tls.key);
    if (o.tls.rejectUnauthorized !== undefined) out.rejectUnauthorized = o.tls.rejectUnauthorized;
  }
  return out;
}
