// Doctor checks over the network: an INDI server (and the devices it defines), the MQTT broker.
import { connect } from 'node:net';
import type { DoctorCheck } from '../../../../drivers/gpio-rail/doctor.js';

export function tcpReachable(host: string, port: number, timeoutMs = 2000, greeting?: string, listenMs = 0): Promise<{ ok: boolean; error?: string; data: string }> {
  return new Promise((done) => {
    let data = '';
    const s = connect({ host, port });
    const finish = (r: { ok: boolean; error?: string }) => {
      clearTimeout(timer);
      s.destroy();
      done({ ...r, data });
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    s.on('connect', () => {
      if (!greeting) return finish({ ok: true });
      clearTimeout(timer);
      s.write(greeting);
      setTimeout(() => finish({ ok: true }), listenMs);
    });
    s.on('data', (d: Buffer) => {
      if (data.length < 1 << 20) data += d.toString('utf8');
    });
    s.on('error', (err) => finish({ ok: false, error: err.message }));
  });
}

export function hostPort(text: string, defaultPort: number, option: string): { host: string; port: number } {
  const m = /^(?:[a-z]+:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?.*$/i.exec(text.trim());
  if (!m) throw new Error(`${option}: expected host[:port], got "${text}"`);
  const port = m[2] ? Number(m[2]) : defaultPort;
  if (!(port > 0 && port < 65536)) throw new Error(`${option}: port ${m[2]} out of range`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

export async function indiCheck(target: string | undefined): Promise<DoctorCheck> {
  const given = target !== undefined;
  const { host, port } = hostPort(target ?? 'localhost:7624', 7624, '--indi');
  const r = await tcpReachable(host, port, 2000, '<getProperties version="1.7"/>\n', 1500);
  if (!r.ok) {
    return given
      ? { name: 'indi server', level: 'fail', message: `INDI server ${host}:${port} not reachable (${r.error})`, fix: 'start it: indiserver indi_simulator_ccd (or your drivers); check host and port' }
      : { name: 'indi server', level: 'ok', message: `no INDI server on ${host}:${port} (not needed for gphoto2/gpio-rail/sim; --indi host:port to check another)` };
  }
  const devices = [...new Set([...r.data.matchAll(/<def\w+Vector[^>]*\bdevice="([^"]+)"/g)].map((m) => m[1]))];
  return {
    name: 'indi server',
    level: 'ok',
    hardware: devices.length > 0,
    message: `INDI server ${host}:${port} answers; devices: ${devices.length ? devices.map((d) => `${d} → indi://${host}:${port}/${encodeURIComponent(d)}`).join('; ') : 'none defined yet'}`,
  };
}

export async function mqttCheck(url: string | undefined): Promise<DoctorCheck> {
  if (!url) return { name: 'mqtt broker', level: 'ok', message: 'not checked (--mqtt mqtt://host:1883 to check)' };
  const tls = /^(mqtts|ssl|wss):/i.test(url);
  const { host, port } = hostPort(url, tls ? 8883 : 1883, '--mqtt');
  const r = await tcpReachable(host, port);
  return r.ok
    ? { name: 'mqtt broker', level: 'ok', message: `broker ${host}:${port} accepts TCP connections` }
    : {
        name: 'mqtt broker',
        level: 'fail',
        message: `broker ${host}:${port} not reachable (${r.error})`,
        fix: ['localhost', '127.0.0.1', '::1'].includes(host)
          ? 'sudo apt-get install -y mosquitto && sudo systemctl enable --now mosquitto (or fix mqtt.url)'
          : `start the broker on ${host} or fix mqtt.url`,
      };
}
