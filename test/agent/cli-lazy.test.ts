// The CLI loads only the module of the command it runs (agent/cli/commands/index.ts), so the list of
// names there must be exactly what the modules register, and a one-command tree must behave as the
// whole one for that command.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { buildProgram } from '../../agent/cli/program.js';
import { commandModules } from '../../agent/cli/commands/index.js';

test('every top-level command is listed under the module that registers it, and no other', async (t) => {
  const whole = await buildProgram();
  const registered = whole.commands.map((c) => c.name()).sort();
  const listed = commandModules.flatMap((m) => m.names).sort();
  t.deepEqual(listed, registered);
  for (const m of commandModules) {
    const only = await buildProgram([m.names[0]!, '--help']);
    t.deepEqual(
      only.commands.map((c) => c.name()),
      [...m.names],
      `${m.names[0]}: loads its own module only`,
    );
  }
});

test('help, no command and an unknown command see the whole tree; --version alone none', async (t) => {
  const total = (await buildProgram()).commands.length;
  for (const args of [[], ['--help'], ['--version', '--help'], ['help', 'hdr'], ['hdrr']]) t.is((await buildProgram(args)).commands.length, total, args.join(' '));
  t.is((await buildProgram(['--version'])).commands.length, 0);
  t.is((await buildProgram(['-V'])).commands.length, 0);
  // Options before the command do not hide it.
  t.deepEqual((await buildProgram(['--no-color', 'hdr', 'merge'])).commands.map((c) => c.name()), ['hdr']);
});

test('through the CLI: a subcommand help, and the suggestion for a misspelt command', (t) => {
  const run = (args: string[]) => spawnSync(process.execPath, ['bin/skyrig.js', ...args], { env: { ...process.env, SKYRIG_FROM_SOURCE: '1' }, encoding: 'utf8' });
  const help = run(['hdr', 'merge', '--help']);
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /Usage: skyrig hdr merge/);
  const version = run(['--version']);
  t.is(version.status, 0, version.stderr);
  t.regex(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const typo = run(['hdrr']);
  t.is(typo.status, 1);
  t.regex(typo.stderr, /unknown command 'hdrr'[\s\S]*Did you mean hdr\?/);
});
