// Every feature's subcommands; one line each.
import type { RegisterCommands } from '../types.js';
import { registerMqttCommands } from './mqtt.js';

export const commandModules: RegisterCommands[] = [];
commandModules.push(registerMqttCommands);
