// The `skyrig` command tree. Subcommands live next to their feature and register here.
import { Command } from 'commander';
import { commandModules } from './commands/index.js';
import { VERSION } from '../version.js';

/**
 * The program for `args` (the words after `skyrig`): when the first word names a command, only the
 * module that registers it is loaded; for `--version` alone none; for help, no command or an unknown
 * one (commander's "did you mean"), every module. Omit `args` for the whole tree.
 */
export async function buildProgram(args?: readonly string[]): Promise<Command> {
  const program = new Command('skyrig')
    .description('Edge agent for Raspberry Pi camera rigs: brackets, HDR, live stacking, focus; SQLite run log; MQTT and Home Assistant')
    .version(VERSION)
    .showHelpAfterError(false);
  // The program has no options of its own that take a value, so the first bare word is the command.
  const first = args?.find((a) => !a.startsWith('-'));
  const only = first === undefined ? undefined : commandModules.find((m) => m.names.includes(first));
  // `skyrig --version` alone prints one line and needs no command at all (help still needs them all).
  const versionOnly = first === undefined && args !== undefined && args.some((a) => a === '--version' || a === '-V') && !args.some((a) => a === '--help' || a === '-h');
  const modules = versionOnly ? [] : only ? [only] : commandModules;
  const registers = await Promise.all(modules.map((m) => m.load()));
  for (const register of registers) register(program);
  return program;
}
