import test from 'ava';
import { createCommandRouter, dispatchHandlers, type CommandHandlers } from '../../agent/commands/router.js';
import { COMMAND_NAMES } from '../../agent/commands/schemas.js';
import { createMqttLink } from '../../agent/mqtt/publisher.js';
import { memoryLogger } from '../../agent/log.js';
import type { CommandMessage } from '../../agent/mqtt/publisher.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { watch } from '../fixtures/mqtt-watch.js';

/** Handlers that record what reached them. */
function recording() {
  const calls: Array<{ name: string; args: unknown; meta: unknown }> = [];
  const rec = (name: string) => (args: unknown, meta: unknown) => {
    calls.push({ name, args, meta });
    return { accepted: name };
  };
  const handlers: CommandHandlers = {
    capture: rec('capture'),
    autofocus: rec('autofocus'),
    livestack_start: rec('livestack_start'),
    livestack_stop: rec('livestack_stop'),
    hdr: rec('hdr'),
    focusbracket: rec('focusbracket'),
    status: () => ({ activity: 'idle' }),
    job: (args) => {
      if (args.name !== 'allsky') throw new Error(`no job named "${args.name}"; configured: allsky`);
      calls.push({ name: 'job', args, meta: {} });
      return { run_id: 12 };
    },
  };
  return { calls, handlers };
}

/** A transport with no broker, for dispatch logic alone. */
function localTransport() {
  const listeners: Array<(m: CommandMessage) => void> = [];
  return {
    subscribed: false,
    replies: [] as Array<{ name: string; reply: Record<string, unknown> }>,
    subscribeCommands() {
      this.subscribed = true;
    },
    on(_event: 'command', fn: (m: CommandMessage) => void) {
      listeners.push(fn);
      return () => listeners.splice(listeners.indexOf(fn), 1);
    },
    publishCommandResult(name: string, reply: Record<string, unknown>) {
      this.replies.push({ name, reply });
    },
  };
}

test('command round trip over mosquitto: handler gets the parsed payload, result echoes request_id', async (t) => {
  const broker = await startMosquitto(t);
  const link = createMqttLink(
    { url: broker.url, baseTopic: 'skyrig', stationId: 'roof', stationName: 'Roof', keepaliveS: 5, imageMaxBytes: 65536,
      discovery: { enabled: false, prefix: 'homeassistant' } },
    { log: memoryLogger() },
  );
  t.teardown(() => link.close());
  const { calls, handlers } = recording();
  createCommandRouter(handlers, { link, log: memoryLogger() });
  await link.waitConnected(5000);
  await new Promise((r) => setTimeout(r, 100)); // SUBACK

  const w = await watch(t, broker.url, ['skyrig/roof/cmd/+/result']);
  await w.publish('skyrig/roof/cmd/capture', JSON.stringify({ exposure_s: 2.5, count: 3, gain: 100, request_id: 'abc' }));
  const reply = await w.waitFor((m) => m.topic === 'skyrig/roof/cmd/capture/result');
  t.false(reply.retain);
  t.deepEqual(JSON.parse(reply.text), { ok: true, id: 'abc', result: { accepted: 'capture' } });
  t.deepEqual(calls, [{ name: 'capture', args: { exposure_s: 2.5, count: 3, gain: 100 }, meta: { requestId: 'abc' } }]);

  await w.publish('skyrig/roof/cmd/focusbracket', JSON.stringify({ start: 1000, end: 1400, step: 100 }));
  const fb = await w.waitFor((m) => m.topic === 'skyrig/roof/cmd/focusbracket/result');
  t.deepEqual(JSON.parse(fb.text), { ok: true, result: { accepted: 'focusbracket' } });
  t.deepEqual(calls[1].args, { start: 1000, end: 1400, step: 100 });

  // An empty message (mosquitto_pub -n) is `{}`.
  await w.publish('skyrig/roof/cmd/autofocus', '');
  const af = await w.waitFor((m) => m.topic === 'skyrig/roof/cmd/autofocus/result');
  t.deepEqual(JSON.parse(af.text), { ok: true, result: { accepted: 'autofocus' } });
  t.is(calls.length, 3);
});

test('malformed commands over mosquitto get an error reply and never reach a handler', async (t) => {
  const broker = await startMosquitto(t);
  const link = createMqttLink(
    { url: broker.url, baseTopic: 'skyrig', stationId: 'roof', stationName: 'Roof', keepaliveS: 5, imageMaxBytes: 65536,
      discovery: { enabled: false, prefix: 'homeassistant' } },
    { log: memoryLogger() },
  );
  t.teardown(() => link.close());
  const { calls, handlers } = recording();
  createCommandRouter(handlers, { link, log: memoryLogger() });
  await link.waitConnected(5000);
  await new Promise((r) => setTimeout(r, 100));
  const w = await watch(t, broker.url, ['skyrig/roof/cmd/+/result']);

  const ask = async (name: string, payload: string) => {
    const before = w.messages.length;
    await w.publish(`skyrig/roof/cmd/${name}`, payload);
    const m = await w.waitFor((x) => x.topic === `skyrig/roof/cmd/${name}/result` && w.messages.indexOf(x) >= before);
    return JSON.parse(m.text) as { ok: boolean; id?: string; error?: string };
  };

  const badJson = await ask('capture', '{"exposure_s": 2,');
  t.false(badJson.ok);
  t.regex(badJson.error!, /^payload is not valid JSON/);

  const wrongType = await ask('capture', JSON.stringify({ exposure_s: 'long', request_id: 'r1' }));
  t.is(wrongType.ok, false);
  t.is(wrongType.id, 'r1');
  t.regex(wrongType.error!, /^invalid capture payload: exposure_s: .*expected number, received string/);

  const misspelt = await ask('capture', JSON.stringify({ exposure: 2 }));
  t.regex(misspelt.error!, /^invalid capture payload: payload: Unrecognized key: "exposure"/);

  const unknown = await ask('selfdestruct', '{}');
  t.is(unknown.error, `unknown command "selfdestruct"; known commands: ${COMMAND_NAMES.join(', ')}`);

  const notObject = await ask('hdr', '[1,2]');
  t.is(notObject.error, 'payload must be a JSON object');

  const negative = await ask('hdr', JSON.stringify({ exposures: [0.01, -1] }));
  t.regex(negative.error!, /^invalid hdr payload: exposures\.1: /);

  const refused = await ask('job', JSON.stringify({ name: 'nope' }));
  t.deepEqual(refused, { ok: false, error: 'no job named "nope"; configured: allsky' });

  t.deepEqual(calls, [], 'no handler ran');
});

test('payload validation names the field (dispatch without a broker)', async (t) => {
  const transport = localTransport();
  const { calls, handlers } = recording();
  const router = createCommandRouter(handlers, { link: transport, log: memoryLogger() });
  t.true(transport.subscribed);

  const err = async (name: string, body: unknown) => (await router.handle(name, JSON.stringify(body))).error;
  t.regex((await err('capture', { count: 2.5 }))!, /^invalid capture payload: count: /);
  t.regex((await err('capture', { count: 0 }))!, /^invalid capture payload: count: /);
  t.regex((await err('focusbracket', { positions: [1, 2], start: 0 }))!, /positions: give either positions or start\/end\/step, not both/);
  t.regex((await err('focusbracket', { start: 0, end: 100 }))!, /^invalid focusbracket payload: step: required with start\/end\/step$/);
  t.regex((await err('focusbracket', { start: 0, end: 100000, step: 1 }))!, /step: gives 100001 positions, at most 1000/);
  t.regex((await err('job', {}))!, /^invalid job payload: name: /);
  t.regex((await err('status', { verbose: true }))!, /Unrecognized key: "verbose"/);
  t.is(await err('capture', { request_id: { nested: 1 } }), 'request_id: must be a string or a number');
  t.deepEqual(calls, []);

  t.deepEqual(await router.handle('status', '{"request_id": 5}'), { ok: true, id: 5, result: { activity: 'idle' } });
  t.deepEqual(await router.handle('focusbracket', '{"positions":[900,1000,1100]}'), { ok: true, result: { accepted: 'focusbracket' } });
  t.deepEqual(await router.handle('hdr', '{}'), { ok: true, result: { accepted: 'hdr' } });
  t.is(calls.length, 2);

  const partial = createCommandRouter({ status: () => 'ok' }, { link: localTransport(), log: memoryLogger() });
  t.deepEqual(await partial.handle('livestack_start', '{}'), { ok: false, error: 'command "livestack_start" is not available on this station' });
});

test('a retained command is not executed on (re)subscribe', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, ['skyrig/roof/cmd/+/result']);
  await w.publish('skyrig/roof/cmd/capture', '{"exposure_s": 1}', { retain: true });
  const log = memoryLogger();
  const link = createMqttLink(
    { url: broker.url, baseTopic: 'skyrig', stationId: 'roof', stationName: 'Roof', keepaliveS: 5, imageMaxBytes: 65536,
      discovery: { enabled: false, prefix: 'homeassistant' } },
    { log },
  );
  t.teardown(() => link.close());
  const { calls, handlers } = recording();
  createCommandRouter(handlers, { link, log });
  await link.waitConnected(5000);
  await new Promise((r) => setTimeout(r, 400));
  t.deepEqual(calls, []);
  t.is(w.messages.length, 0);
  t.true(log.lines.some((l) => l.startsWith('warn retained command ignored') && l.includes('topic=skyrig/roof/cmd/capture')));
});

test('dispatchHandlers forwards validated arguments to one dispatch function; ok:false becomes an error reply', async (t) => {
  const got: Array<[string, unknown]> = [];
  const router = createCommandRouter(
    dispatchHandlers(async (name, args) => {
      got.push([name, args]);
      if (name === 'livestack_stop') return { ok: false, error: 'no live stack is running' };
      if (name === 'capture') return { ok: false, error: 'camera timeout', result: { run_id: 2, status: 'failed' } };
      return { ok: true, result: { run_id: 1, status: 'ok' } };
    }),
    { link: localTransport(), log: memoryLogger() },
  );
  t.deepEqual(await router.handle('hdr', '{"exposures":[0.001,0.01],"request_id":"x"}'), { ok: true, id: 'x', result: { run_id: 1, status: 'ok' } });
  t.deepEqual(await router.handle('livestack_stop', ''), { ok: false, error: 'no live stack is running' });
  t.deepEqual((await router.handle('hdr', '{"exposures":"all"}')).ok, false);
  t.deepEqual(await router.handle('capture', '{}'), { ok: false, error: 'camera timeout', result: { run_id: 2, status: 'failed' } });
  t.deepEqual(got, [['hdr', { exposures: [0.001, 0.01] }], ['livestack_stop', {}], ['capture', {}]]);
});
