// The `skyrig` command tree. Subcommands live next to their feature and register here.
import { Command } from 'commander';
import { commandModules } from './commands/index.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('skyrig')
    .description('Edge agent for Raspberry Pi camera rigs: brackets, HDR, live stacking, focus; SQLite run log; MQTT and Home Assistant')
    .version(VERSION)
    .showHelpAfterError(false);
  for (const register of commandModules) register(program);
  return program;
}
