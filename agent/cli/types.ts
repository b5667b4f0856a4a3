// Each feature registers its subcommands on the shared commander program.
import type { Command } from 'commander';

export type RegisterCommands = (program: Command) => void;
