// Every feature's subcommands; one line each.
import type { RegisterCommands } from '../types.js';

export const commandModules: RegisterCommands[] = [];
import { registerHdrCommands } from './hdr.js'; commandModules.push(registerHdrCommands);
