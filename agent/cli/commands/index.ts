// Every feature's subcommands; one line each.
import type { RegisterCommands } from '../types.js';
import { registerDeviceCommands } from './devices.js';

export const commandModules: RegisterCommands[] = [registerDeviceCommands];
