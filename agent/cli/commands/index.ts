// Every feature's subcommands; one line each.
import type { RegisterCommands } from '../types.js';

export const commandModules: RegisterCommands[] = [];
import { registerStackCommands } from './stack.js'; commandModules.push(registerStackCommands);
