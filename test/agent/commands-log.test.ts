// Each command gives exactly one log line: rejected (bad payload: info), failed (handler error:
// warn) or done — not a warn from the handler plus an info from the listener for the same event.
import test from 'ava';
import { memoryLogger } from '../../agent/log.js';
import { createCommandRouter, dispatchHandlers, type CommandTransport } from '../../agent/commands/router.js';
import type { CommandMessage } from '../../agent/mqtt/publisher.js';

function fakeLink() {
  let listener: ((m: CommandMessage) => void) | null = null;
  const replies: { name: string; reply: Record<string, unknown> }[] = [];
  const link: CommandTransport = {
    subscribeCommands() {},
    on(_event, l) {
      listener = l;
      return () => (listener = null);
    },
    publishCommandResult(name, reply) {
      replies.push({ name, reply });
    },
  };
  const send = async (name: string, payload: string) => {
    listener!({ name, payload: Buffer.from(payload) } as CommandMessage);
    await new Promise((r) => setTimeout(r, 20));
  };
  return { link, replies, send };
}

test('one log line per command: done, rejected, failed', async (t) => {
  const log = memoryLogger('debug');
  const { link, replies, send } = fakeLink();
  createCommandRouter(
    dispatchHandlers(async (name, args) => (name === 'job' ? { ok: false, error: `no job named ${JSON.stringify(args.name)}` } : { ok: true, result: { run_id: 1 } })),
    { link, log },
  );
  await send('capture', '{"request_id":"ha"}');
  await send('capture', 'not json');
  await send('job', '{"name":"nope"}');
  t.deepEqual(
    log.lines.map((l) => l.replace(/ error=.*/, '')),
    ['info command done component=commands command=capture id=ha', 'info command rejected component=commands command=capture', 'warn command failed component=commands command=job'],
  );
  t.deepEqual(replies.map((r) => r.reply.ok), [true, false, false]);
  t.is(replies[2]!.reply.error, 'no job named "nope"');
});
