// `skyrig` entry point: parse, run, and turn any error into one line `skyrig: <message>` with exit 1.
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

async function main(): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    // The stack only with SKYRIG_DEBUG: field users get the message that names the file or field.
    process.stderr.write(`skyrig: ${(err as Error).message}\n`);
    if (process.env.SKYRIG_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  }
}

await main();
