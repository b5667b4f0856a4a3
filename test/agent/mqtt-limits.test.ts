// Hostile command input over a real mosquitto: oversize payloads refused unread, a 5 MB request_id
// not echoed back or logged whole, and a command on `…/cmd/` (empty name) still answered.
import test from 'ava';
import { createCommandRouter, dispatchHandlers } from '../../agent/commands/router.js';
import { MAX_REQUEST_ID_CHARS } from '../../agent/commands/parse.js';
import { createMqttLink } from '../../agent/mqtt/publisher.js';
import { memoryLogger } from '../../agent/log.js';
import { validateConfig } from '../../agent/config/load.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { watch } from '../fixtures/mqtt-watch.js';
import type { ExecutionContext } from 'ava';

async function station(t: ExecutionContext, maxPayloadBytes?: number) {
  const broker = await startMosquitto(t);
  const log = memoryLogger();
  const link = createMqttLink(
    { url: broker.url, baseTopic: 'skyrig', stationId: 'roof', stationName: 'Roof', keepaliveS: 5, imageMaxBytes: 65536,
      discovery: { enabled: false, prefix: 'homeassistant' }, stateThrottleMs: 0 },
    { log },
  );
  t.teardown(() => link.close());
  const calls: string[] = [];
  createCommandRouter(
    dispatchHandlers(async (name) => {
      calls.push(name);
      return { ok: true, result: { ran: name } };
    }),
    { link, log, maxPayloadBytes },
  );
  await link.waitConnected(5000);
  await new Promise((r) => setTimeout(r, 150)); // SUBACK
  const w = await watch(t, broker.url, ['skyrig/roof/cmd/+/result', 'skyrig/roof/cmd//result', 'skyrig/roof/state']);
  return { link, log, calls, w };
}

test('a payload over max_payload_bytes is refused unread, with a reply naming the limit', async (t) => {
  const { log, calls, w } = await station(t);
  // 100 kB of not-JSON: a parser would complain about the JSON; the limit answers first.
  await w.publish('skyrig/roof/cmd/capture', Buffer.alloc(100_000, 'x'));
  const reply = JSON.parse((await w.waitFor((m) => m.topic === 'skyrig/roof/cmd/capture/result')).text);
  t.false(reply.ok);
  t.is(reply.error, 'payload of 100000 bytes is over the limit of 65536 bytes (mqtt.max_payload_bytes); not read');
  t.deepEqual(calls, []);
  // A payload at the limit's side still works.
  await w.publish('skyrig/roof/cmd/status', JSON.stringify({ request_id: 'ok' }));
  const ok = JSON.parse((await w.waitFor((m) => m.topic === 'skyrig/roof/cmd/status/result')).text);
  t.deepEqual(ok, { ok: true, id: 'ok', result: { ran: 'status' } });
  t.true(log.lines.some((l) => l.startsWith('info command rejected') && l.includes('over the limit')));
});

test('a 5 MB request_id is refused and echoed cut to 128 characters, in the reply and in the log', async (t) => {
  const { log, calls, w } = await station(t, 16 * 1024 * 1024);
  const huge = 'A'.repeat(5 * 1024 * 1024);
  await w.publish('skyrig/roof/cmd/capture', JSON.stringify({ request_id: huge }));
  const msg = await w.waitFor((m) => m.topic === 'skyrig/roof/cmd/capture/result', 10000);
  t.true(msg.payload.length < 1024, `reply is ${msg.payload.length} bytes`);
  const reply = JSON.parse(msg.text);
  t.false(reply.ok);
  t.is(reply.id, `${'A'.repeat(MAX_REQUEST_ID_CHARS)}…`);
  t.is(reply.error, `request_id: ${huge.length} characters, at most ${MAX_REQUEST_ID_CHARS}`);
  t.deepEqual(calls, []);
  const line = log.lines.find((l) => l.startsWith('info command rejected'));
  t.truthy(line);
  t.true(line!.length < 1024, `log line is ${line!.length} characters`);
  t.true(log.lines.every((l) => l.length < 4096));
});

test('every command topic answers: cmd/ with an empty name, cmd itself, cmd/a/b, a 5000-character name', async (t) => {
  const { calls, w, link } = await station(t);
  await w.publish('skyrig/roof/cmd/', JSON.stringify({ request_id: 'e1' }));
  const reply = JSON.parse((await w.waitFor((m) => m.topic === 'skyrig/roof/cmd//result')).text);
  t.false(reply.ok);
  t.is(reply.id, 'e1');
  t.regex(reply.error, /^empty command name: publish to cmd\/<name>, one of capture, /);
  t.deepEqual(calls, []);
  // `…/cmd` itself (matched by the `cmd/#` subscription) and a name over two levels are answered too.
  await w.publish('skyrig/roof/cmd', '{"request_id":"e2"}');
  const r0 = JSON.parse((await w.waitFor((m) => m.topic === 'skyrig/roof/cmd//result' && m.text.includes('"e2"'))).text);
  t.regex(r0.error, /^empty command name/);
  await w.client.subscribeAsync('skyrig/roof/cmd/capture/now/result', { qos: 1 });
  await w.publish('skyrig/roof/cmd/capture/now', '{}');
  const r1 = JSON.parse((await w.waitFor((m) => m.topic === 'skyrig/roof/cmd/capture/now/result')).text);
  t.regex(r1.error, /^unknown command "capture\/now"/);
  // A very long unknown name is answered too, and quoted cut.
  const long = 'n'.repeat(5000);
  await w.publish(`skyrig/roof/cmd/${long}`, '{}');
  await new Promise((r) => setTimeout(r, 300));
  // Our replies arrive on our own `cmd/#` subscription: they are never taken for commands (no reply loop).
  t.is(w.messages.filter((m) => m.topic.endsWith('/result/result')).length, 0);
  const r2 = JSON.parse((await w.waitFor((m) => m.topic === `skyrig/roof/cmd/${long}/result`)).text);
  t.regex(r2.error, new RegExp(`^unknown command "${'n'.repeat(64)}…"`));
  // The outcome shows in the retained state (HA's "Last command" sensor).
  await w.waitFor((m) => m.topic === 'skyrig/roof/state' && JSON.parse(m.text).last_command?.startsWith('n'.repeat(64)));
  t.regex(String(link.currentState().last_command), /^n{64}… failed: unknown command/);
  t.regex(String(link.currentState().last_command_at), /^\d{4}-\d\d-\d\dT/);
});

test('a button press shows in last_command: ok or the error', async (t) => {
  const { w, link } = await station(t);
  await w.publish('skyrig/roof/cmd/capture', '{"request_id":"homeassistant"}');
  await w.waitFor((m) => m.topic === 'skyrig/roof/state' && JSON.parse(m.text).last_command === 'capture: ok');
  await w.publish('skyrig/roof/cmd/capture', '{"exposure_s":"long"}');
  await w.waitFor((m) => m.topic === 'skyrig/roof/state' && /^capture failed: invalid capture payload: exposure_s/.test(JSON.parse(m.text).last_command ?? ''));
  t.regex(String(link.currentState().last_command), /^capture failed: /);
});

test('config: mqtt.max_payload_bytes and mqtt.outbox_max have defaults and one-line errors naming the field', (t) => {
  const c = validateConfig({ station: { id: 'x' } });
  t.is(c.mqtt.max_payload_bytes, 65536);
  t.is(c.mqtt.outbox_max, 1000);
  t.throws(() => validateConfig({ station: { id: 'x' }, mqtt: { outbox_max: 0 } }), { message: /^config: mqtt\.outbox_max: 0 is out of range/ });
  t.throws(() => validateConfig({ station: { id: 'x' }, mqtt: { max_payload_bytes: 10 } }), { message: /^config: mqtt\.max_payload_bytes: 10 is out of range/ });
});
