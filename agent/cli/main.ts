// `skyrig` command line. Subcommands live next to their feature and register here.
import { Command, CommanderError } from 'commander';
import { commandModules } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('skyrig')
    .description('Edge agent for Raspberry Pi camera rigs: brackets, HDR, live stacking, focus; SQLite run log; MQTT and Home Assistant')
    .version('0.1.0')
    .showHelpAfterError(false);
  for (const register of commandModules) register(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    // One line, naming what failed; the stack only with SKYRIG_DEBUG.
    process.stderr.write(`skyrig: ${(err as Error).message}\n`);
    if (process.env.SKYRIG_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  }
}

await main();
