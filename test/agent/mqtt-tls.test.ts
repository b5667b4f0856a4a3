import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { createMqttLink, type MqttLinkOptions } from '../../agent/mqtt/publisher.js';
import { memoryLogger } from '../../agent/log.js';
import { requireCommand } from '../helpers/system.js';
import { freePort, waitForPort } from '../helpers/port.js';
import { tempDir } from '../helpers/tmp.js';

/** A CA, a server certificate for 127.0.0.1 and a mosquitto TLS listener requiring a password. */
async function tlsBroker(t: ExecutionContext) {
  const openssl = requireCommand('openssl', 'openssl');
  const mosquitto = requireCommand('mosquitto', 'mosquitto');
  const passwd = requireCommand('mosquitto_passwd', 'mosquitto');
  const dir = await tempDir(t, 'skyrig-tls-');
  const p = (f: string) => join(dir, f);
  const run = (bin: string, args: string[]) => execFileSync(bin, args, { cwd: dir, stdio: 'pipe' });
  run(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=skyrig test CA', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
  run(openssl, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr')]);
  await writeFile(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(openssl, ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', p('ext.cnf'), '-out', p('server.pem')]);
  run(passwd, ['-b', '-c', p('passwd'), 'station', 's3cret']);
  const port = await freePort();
  await writeFile(p('mosquitto.conf'), [
    `listener ${port} 127.0.0.1`,
    `cafile ${p('ca.pem')}`, `certfile ${p('server.pem')}`, `keyfile ${p('server.key')}`,
    'allow_anonymous false', `password_file ${p('passwd')}`, 'persistence false', 'user root', '',
  ].join('\n'));
  const proc = spawn(mosquitto, ['-c', p('mosquitto.conf')], { stdio: 'ignore' });
  t.teardown(async () => {
    if (proc.exitCode !== null || proc.signalCode) return;
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  });
  await waitForPort(port);
  return { url: `mqtts://127.0.0.1:${port}`, ca: p('ca.pem') };
}

function options(url: string, over: Partial<MqttLinkOptions>): MqttLinkOptions {
  return {
    url, baseTopic: 'skyrig', stationId: 'tls1', stationName: 'TLS', keepaliveS: 5, imageMaxBytes: 65536,
    discovery: { enabled: false, prefix: 'homeassistant' }, reconnectMinMs: 200, reconnectMaxMs: 400, ...over,
  };
}

test('TLS with a private CA and username/password; a wrong password is one warning, not a crash', async (t) => {
  const broker = await tlsBroker(t);
  const log = memoryLogger();
  const good = createMqttLink(options(broker.url, { username: 'station', password: 's3cret', tls: { ca: broker.ca } }), { log });
  t.teardown(() => good.close());
  await good.waitConnected(5000);
  t.true(good.connected);

  const badLog = memoryLogger();
  const bad = createMqttLink(options(broker.url, { stationId: 'tls2', username: 'station', password: 'wrong', tls: { ca: broker.ca } }), { log: badLog });
  t.teardown(() => bad.close());
  const untrusted = createMqttLink(options(broker.url, { stationId: 'tls3', username: 'station', password: 's3cret' }), { log: badLog });
  t.teardown(() => untrusted.close());
  await new Promise((r) => setTimeout(r, 1500));
  t.false(bad.connected);
  t.false(untrusted.connected);
  const warned = badLog.lines.filter((l) => l.startsWith('warn '));
  t.is(warned.length, 2, warned.join('\n'));
  t.true(warned.some((l) => /mqtt connection failed.*(Not authorized|Bad username or password)/.test(l)), warned.join('\n'));
  t.true(warned.some((l) => /certificate/i.test(l)), warned.join('\n'));
  t.false(warned.join('\n').includes('s3cret') || warned.join('\n').includes('wrong'), 'password never logged');
});
