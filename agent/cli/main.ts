// `skyrig` entry point: parse, run, and turn any error into one line `skyrig: <message>` with exit 1.
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

// Output into a pipe closed early (`skyrig runs | head -1`): the reader has what it wanted, so stop
// quietly with 0 instead of an unhandled EPIPE 'error' event and its stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

async function main(): Promise<void> {
  const program = await buildProgram(process.argv.slice(2));
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
